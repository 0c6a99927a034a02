from common import code, exercise, finish, md, notes_vs_kernel, setup

SLUG = "00-not-a-vm"

CELLS = [
    md("""
# 00 · Is a container a light VM?

**Goals**

- Put a container and a virtual machine side by side, on this machine, and measure them.
- See the one kernel a container shares with the host, and the guest kernel a VM boots.
- See a container's processes from the host, and how long and how much memory each takes.

**What the course notes say** (translated from the Portuguese notes):

> is a container just a lighter virtual machine? In fact, the concept goes beyond that:

The rest of the course answers the question piece by piece (namespaces, cgroups, overlay);
this notebook answers it with measurements first. Every cell runs on the real kernel.
[course index](../README.md)
""", """
# 00 · Um container é uma VM leve?

**Objetivos**

- Pôr um container e uma máquina virtual lado a lado, nesta máquina, e medir os dois.
- Ver o único kernel que um container compartilha com o host, e o kernel convidado que uma
  VM inicia.
- Ver os processos de um container a partir do host, e quanto tempo e memória cada um
  gasta.

**O que dizem as notas do curso:**

> container é apenas uma máquina virtual mais leve? Na verdade, o conceito vai mais além
> disso:

O resto do curso responde à pergunta por partes (namespaces, cgroups, overlay); este
notebook responde primeiro com medidas. Cada célula roda no kernel de verdade.
[índice do curso](../README.md)
"""),
    *setup("nb00"),
    md("""
## The container: a process of this kernel

We start a container and time it, ask it which kernel it runs, and look for its process in
the **host's** process table.
""", """
## O container: um processo deste kernel

Iniciamos um container e medimos o tempo, perguntamos a ele qual kernel ele roda e
procuramos o processo dele na tabela de processos do **host**.
"""),
    code('''
import platform
t0 = time.perf_counter()
r = eng.run("busybox", ["uname", "-r"], auto_remove=True)
container_start = time.perf_counter() - t0
print("host kernel     :", platform.release())
print("container kernel:", r.stdout.decode().strip(), f"  (run → exit took {container_start * 1000:.0f} ms)")
box = eng.run("busybox", ["sleep", "600"], name=P + "-box", detach=True)
pid = eng.containers.get(box.id).pid
print(f"\\nthe container's sleep, seen from the host (pid {pid}):")
!ps -o pid,ppid,comm,rss -p {pid}
time.sleep(0.3)
s = eng.containers.stats(box.id)
print(f"its cgroup is charged {s.memory_usage / 1024:.0f} KiB of memory")
''', '''
import platform
t0 = time.perf_counter()
r = eng.run("busybox", ["uname", "-r"], auto_remove=True)
container_start = time.perf_counter() - t0
print("kernel do host     :", platform.release())
print("kernel do container:", r.stdout.decode().strip(), f"  (run → saída levou {container_start * 1000:.0f} ms)")
box = eng.run("busybox", ["sleep", "600"], name=P + "-box", detach=True)
pid = eng.containers.get(box.id).pid
print(f"\\no sleep do container, visto do host (pid {pid}):")
!ps -o pid,ppid,comm,rss -p {pid}
time.sleep(0.3)
s = eng.containers.stats(box.id)
print(f"o cgroup dele tem {s.memory_usage / 1024:.0f} KiB de memória cobrados")
'''),
    md("""
## The virtual machine: a computer of its own

QEMU emulates a whole PC: firmware, CPU, memory, a serial port. It boots Debian's stock
kernel from `/boot` with a one-line `init` that prints the kernel version and powers off.
(This host has no usable hardware virtualisation, so QEMU emulates the CPU in software:
expect seconds, where a KVM-accelerated VM would need about a second or less. Either way, a
kernel boots.) Without QEMU or a kernel in `/boot`, the cell says so and skips the VM.
""", """
## A máquina virtual: um computador próprio

O QEMU emula um PC inteiro: firmware, CPU, memória, uma porta serial. Ele inicia o kernel
padrão do Debian que está em `/boot`, com um `init` de uma linha que imprime a versão do
kernel e desliga. (Este host não tem virtualização por hardware utilizável, então o QEMU
emula a CPU em software: espere segundos, onde uma VM com KVM levaria cerca de um segundo ou
menos. De todo jeito, um kernel é iniciado.) Sem QEMU ou sem kernel em `/boot`, a célula
avisa e pula a VM.
"""),
    code('''
import glob, gzip, resource
QEMU = shutil.which("qemu-system-x86_64")
KERNELS = sorted(glob.glob("/boot/vmlinuz-*"))
vm = None
if not QEMU or not KERNELS or not os.path.exists("/bin/busybox"):
    print("no VM here: needs qemu-system-x86_64, a kernel in /boot and /bin/busybox "
          "(apt-get install qemu-system-x86 linux-image-amd64 busybox-static)")
else:
    vmdir = tempfile.mkdtemp(prefix=P + "-vm-")
    root = os.path.join(vmdir, "root")
    os.makedirs(os.path.join(root, "bin"))
    shutil.copy("/bin/busybox", os.path.join(root, "bin"))
    with open(os.path.join(root, "init"), "w") as f:
        f.write('#!/bin/busybox sh\\n/bin/busybox echo "guest kernel: $(/bin/busybox uname -r)"\\n'
                "/bin/busybox poweroff -f\\n")
    os.chmod(os.path.join(root, "init"), 0o755)
    cpio = subprocess.run(f"cd {root} && find . | cpio -o -H newc 2>/dev/null", shell=True,
                          capture_output=True, check=True).stdout
    with gzip.open(os.path.join(vmdir, "initrd.gz"), "wb") as f:
        f.write(cpio)
    t0 = time.perf_counter()
    p = subprocess.Popen([QEMU, "-m", "256M", "-nographic", "-nodefaults", "-no-reboot",
                          "-display", "none", "-serial", "stdio", "-kernel", KERNELS[-1],
                          "-initrd", os.path.join(vmdir, "initrd.gz"),
                          "-append", "console=ttyS0 quiet panic=-1"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out, _ = p.communicate(timeout=300)
    vm_time = time.perf_counter() - t0
    vm_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss   # KiB, the largest child
    import re
    found = re.search(r"guest kernel: (\\S+)", out.decode(errors="replace"))
    vm = {"kernel": found.group(1) if found else "?", "seconds": vm_time, "rss_kib": vm_rss}
    line = "guest kernel: " + vm["kernel"]
    print("host kernel :", platform.release())
    print(line.strip(), f"  (boot → power off took {vm_time:.1f} s; QEMU's memory peak {vm_rss // 1024} MiB)")
    shutil.rmtree(vmdir)
''', '''
import glob, gzip, resource
QEMU = shutil.which("qemu-system-x86_64")
KERNELS = sorted(glob.glob("/boot/vmlinuz-*"))
vm = None
if not QEMU or not KERNELS or not os.path.exists("/bin/busybox"):
    print("sem VM aqui: é preciso qemu-system-x86_64, um kernel em /boot e /bin/busybox "
          "(apt-get install qemu-system-x86 linux-image-amd64 busybox-static)")
else:
    vmdir = tempfile.mkdtemp(prefix=P + "-vm-")
    root = os.path.join(vmdir, "root")
    os.makedirs(os.path.join(root, "bin"))
    shutil.copy("/bin/busybox", os.path.join(root, "bin"))
    with open(os.path.join(root, "init"), "w") as f:
        f.write('#!/bin/busybox sh\\n/bin/busybox echo "guest kernel: $(/bin/busybox uname -r)"\\n'
                "/bin/busybox poweroff -f\\n")
    os.chmod(os.path.join(root, "init"), 0o755)
    cpio = subprocess.run(f"cd {root} && find . | cpio -o -H newc 2>/dev/null", shell=True,
                          capture_output=True, check=True).stdout
    with gzip.open(os.path.join(vmdir, "initrd.gz"), "wb") as f:
        f.write(cpio)
    t0 = time.perf_counter()
    p = subprocess.Popen([QEMU, "-m", "256M", "-nographic", "-nodefaults", "-no-reboot",
                          "-display", "none", "-serial", "stdio", "-kernel", KERNELS[-1],
                          "-initrd", os.path.join(vmdir, "initrd.gz"),
                          "-append", "console=ttyS0 quiet panic=-1"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out, _ = p.communicate(timeout=300)
    vm_time = time.perf_counter() - t0
    vm_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss   # KiB, o maior filho
    import re
    found = re.search(r"guest kernel: (\\S+)", out.decode(errors="replace"))
    vm = {"kernel": found.group(1) if found else "?", "seconds": vm_time, "rss_kib": vm_rss}
    line = "guest kernel: " + vm["kernel"]
    print("kernel do host:", platform.release())
    print(line.strip().replace("guest kernel", "kernel convidado"),
          f"  (boot → desligar levou {vm_time:.1f} s; pico de memória do QEMU {vm_rss // 1024} MiB)")
    shutil.rmtree(vmdir)
'''),
    md("""
Side by side, from the numbers above:
""", """
Lado a lado, com os números acima:
"""),
    code('''
%matplotlib inline
import matplotlib.pyplot as plt
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 2.8))
names = ["container"] + (["VM"] if vm else [])
ax1.bar(names, [container_start] + ([vm["seconds"]] if vm else []), color=["#2e7d32", "#1565c0"][:len(names)])
ax1.set_ylabel("seconds, start → exit"); ax1.set_yscale("log")
ax2.bar(names, [s.memory_usage / 2**20] + ([vm["rss_kib"] / 1024] if vm else []), color=["#2e7d32", "#1565c0"][:len(names)])
ax2.set_ylabel("MiB of memory"); ax2.set_yscale("log")
kern = [platform.release()] + ([vm["kernel"]] if vm else [])
fig.suptitle("kernels: " + " · ".join(f"{n} {k}" for n, k in zip(names, kern)), fontsize=9)
fig.tight_layout(); plt.show()
''', '''
%matplotlib inline
import matplotlib.pyplot as plt
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 2.8))
names = ["container"] + (["VM"] if vm else [])
ax1.bar(names, [container_start] + ([vm["seconds"]] if vm else []), color=["#2e7d32", "#1565c0"][:len(names)])
ax1.set_ylabel("segundos, início → fim"); ax1.set_yscale("log")
ax2.bar(names, [s.memory_usage / 2**20] + ([vm["rss_kib"] / 1024] if vm else []), color=["#2e7d32", "#1565c0"][:len(names)])
ax2.set_ylabel("MiB de memória"); ax2.set_yscale("log")
kern = [platform.release()] + ([vm["kernel"]] if vm else [])
fig.suptitle("kernels: " + " · ".join(f"{n} {k}" for n, k in zip(names, kern)), fontsize=9)
fig.tight_layout(); plt.show()
'''),
    notes_vs_kernel(
        "a container is (more or less) \"a lighter virtual machine\".",
        "A VM is a **computer**: emulated hardware, firmware, and its own kernel, booted "
        "(here a different version from the host's). A container is a **process** of the "
        "host's kernel, in namespaces (what it can see) and a cgroup (what it can use), with "
        "an image as its root file system. No guest kernel, no boot, no hardware: it starts "
        "in milliseconds, costs the memory its processes use, and the host sees its "
        "processes in its own `ps`. The price: one kernel for all, so a container cannot run "
        "another kernel, and a kernel bug is everyone's.",
        "um container é (mais ou menos) \"uma máquina virtual mais leve\".",
        "Uma VM é um **computador**: hardware emulado, firmware e um kernel próprio, "
        "iniciado (aqui uma versão diferente da do host). Um container é um **processo** do "
        "kernel do host, em namespaces (o que ele vê) e num cgroup (o que ele pode usar), com "
        "uma imagem como sistema de arquivos raiz. Sem kernel convidado, sem boot, sem "
        "hardware: ele inicia em milissegundos, custa a memória que os processos dele usam, e "
        "o host vê os processos dele no próprio `ps`. O preço: um kernel para todos, então um "
        "container não roda outro kernel, e um bug no kernel é problema de todos."),
    *exercise(
        "Find a container's process **from the host**. Start a detached container named "
        "`nb00-mine` that runs `sleep 4242`, then, using only the host's view (`ps`, `pgrep` "
        "or `/proc`, not `eng.containers`), put its **host PID** in `answer` (an int). The "
        "check compares it with the engine's record and with the cgroup the kernel lists for "
        "that PID.",
        "Encontre o processo de um container **a partir do host**. Inicie em segundo plano um "
        "container chamado `nb00-mine` que roda `sleep 4242` e depois, usando só a visão do "
        "host (`ps`, `pgrep` ou `/proc`, não `eng.containers`), coloque em `answer` o **PID "
        "dele no host** (um int). A verificação o compara com o registro do engine e com o "
        "cgroup que o kernel lista para esse PID.",
        attempt='''
answer = None   # your code here
''',
        check_fn='''
def check_00():
    try:
        c = eng.containers.get(P + "-mine")
    except NotFound:
        return check(False, "", f"no container {P}-mine yet: eng.run('busybox', ['sleep', '4242'], name=P + '-mine', detach=True)")
    if not c.running:
        return check(False, "", f"{P}-mine is {c.status}: it must be running")
    if not isinstance(answer, int):
        return check(False, "", f"answer is {answer!r}: the host PID as an int (pgrep -f 'sleep 4242')")
    cg = open(f"/proc/{answer}/cgroup").read() if os.path.exists(f"/proc/{answer}") else ""
    check(answer == c.pid and c.id in cg, f"pid {answer} on the host is {P}-mine's sleep, in cgroup …/{c.id[:12]}…: "
          "a container is a host process", f"pid {answer} is not {P}-mine's sleep (its cgroup: {cg.splitlines()[:1]})")
check_00()
''', check_fn_pt='''
def check_00():
    try:
        c = eng.containers.get(P + "-mine")
    except NotFound:
        return check(False, "", f"ainda não há container {P}-mine: eng.run('busybox', ['sleep', '4242'], name=P + '-mine', detach=True)")
    if not c.running:
        return check(False, "", f"{P}-mine está {c.status}: ele precisa estar rodando")
    if not isinstance(answer, int):
        return check(False, "", f"answer é {answer!r}: o PID no host, como int (pgrep -f 'sleep 4242')")
    cg = open(f"/proc/{answer}/cgroup").read() if os.path.exists(f"/proc/{answer}") else ""
    check(answer == c.pid and c.id in cg, f"o pid {answer} no host é o sleep do {P}-mine, no cgroup …/{c.id[:12]}…: "
          "um container é um processo do host", f"o pid {answer} não é o sleep do {P}-mine (cgroup dele: {cg.splitlines()[:1]})")
check_00()
''',
        solution='''
eng.run("busybox", ["sleep", "4242"], name=P + "-mine", detach=True)
time.sleep(0.2)
answer = int(subprocess.run(["pgrep", "-f", "-x", "sleep 4242"], capture_output=True, text=True).stdout.split()[0])
check_00()
'''),
    md("""
## Summary

- A container is a process of the host's kernel: same `uname -r`, visible in the host's `ps`,
  started in milliseconds, charged only the memory its processes use.
- A VM boots a kernel of its own on emulated (or virtualised) hardware: its own version,
  seconds to start, its memory reserved up front.
- "Lighter VM" is a useful first picture and a wrong model: nothing is emulated for a
  container; the kernel *partitions* what one set of processes sees and uses.

Next: [01 · namespaces](01-namespaces.ipynb), what a container can see.
""", """
## Resumo

- Um container é um processo do kernel do host: o mesmo `uname -r`, visível no `ps` do host,
  iniciado em milissegundos, cobrado só pela memória que os processos dele usam.
- Uma VM inicia um kernel próprio em hardware emulado (ou virtualizado): versão própria,
  segundos para iniciar, memória reservada de antemão.
- "VM mais leve" é uma boa primeira imagem e um modelo errado: nada é emulado para um
  container; o kernel *reparte* o que um grupo de processos vê e usa.

Próximo: [01 · namespaces](01-namespaces.ipynb), o que um container pode ver.
"""),
    *finish(),
]
