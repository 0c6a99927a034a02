from common import code, code_pt, exercise, finish, gate, header, md, notes_vs_kernel, setup, summary

SLUG = "01-namespaces"

CELLS = [
    *header(
        1, "Containers are processes: namespaces", "Containers são processos: namespaces",
        ["See that a container is an ordinary Linux process (with children) on the host.",
         "Compare its namespaces (`/proc/<pid>/ns`) with this notebook's own.",
         "Watch each namespace isolate one thing: PID, mount, UTS (hostname), IPC, "
         "network, user."],
        ["Ver que um container é um processo Linux comum (com filhos) no host.",
         "Comparar os namespaces dele (`/proc/<pid>/ns`) com os deste notebook.",
         "Observar cada namespace isolando uma coisa: PID, mount, UTS (hostname), IPC, "
         "rede, usuário."],
        ["namespaces", "runtime"],
        quote_pt="""
Namespace é a forma para isolar processos. Um processo "pai" que possuir um determinado
namespace terão [*sic*] "filhos" que estão no mesmo namespace. [...]
Quando falamos de CONTAINER, estamos falando de processos - e seus processos filhos - em
namespaces que isolam estes processos emulando um sistema operacional.
""",
        quote_en="""
A namespace is the way to isolate processes. A "parent" process that has a given namespace
will have "children" in the same namespace. [...]
When we talk about a CONTAINER, we are talking about processes — and their child
processes — in namespaces that isolate them, emulating an operating system.
"""),
    *setup("nb01"),
    notes_vs_kernel(
        "namespaces isolate the processes \"emulating an operating system\".",
        "Nothing is emulated. The processes run directly on the host's one kernel; each "
        "namespace gives them a *partitioned view* of one kind of kernel object (process "
        "ids, mounts, hostname, IPC, network, users, cgroups, clocks). The kernel answers "
        "their system calls from that view. Notebook 00 puts this next to a VM, which does "
        "emulate a machine.",
        "os namespaces isolam os processos \"emulando um sistema operacional\".",
        "Nada é emulado. Os processos rodam direto no único kernel do host; cada namespace "
        "lhes dá uma *visão repartida* de um tipo de objeto do kernel (ids de processo, "
        "montagens, hostname, IPC, rede, usuários, cgroups, relógios). O kernel responde às "
        "chamadas de sistema deles a partir dessa visão. O notebook 00 põe isso ao lado de "
        "uma VM, que emula, sim, uma máquina."),
    md("""
## Two containers, each a parent with three children

We start two containers in the background. Each runs a shell (the *parent*) that starts
three `sleep` processes (the *children*) — exactly the picture in the notes.
""", """
## Dois containers, cada um com um processo pai e três filhos

Iniciamos dois containers em segundo plano. Cada um roda um shell (o *pai*) que inicia
três processos `sleep` (os *filhos*) — exatamente o desenho das notas.
"""),
    code('''
FAMILY = "sleep 600 & sleep 600 & sleep 600 & wait"
for name in (P + "-c1", P + "-c2"):
    eng.run("busybox", ["sh", "-c", FAMILY], name=name, detach=True)
!{GB} ps --filter name={P}
'''),
    md("""
On the host a container is just a process. Its host PID is in the state store
(`eng.containers.get(name).pid`). `/proc/<pid>/status` has a line `NSpid`: the same
process has **two** numbers — one on the host, one inside its PID namespace (where it is 1).
""", """
No host, um container é só um processo. O PID dele no host está no armazenamento de
estado (`eng.containers.get(nome).pid`). O `/proc/<pid>/status` tem uma linha `NSpid`: o
mesmo processo tem **dois** números — um no host e outro dentro do seu namespace de PID
(onde ele é o 1).
"""),
    code('''
def children(pid):
    """The pids whose parent is ``pid`` (read from /proc, as ps does)."""
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(p) for p in f.read().split()]
    return out

def nspid(pid):
    with open(f"/proc/{pid}/status") as f:
        return [int(x) for x in next(l for l in f if l.startswith("NSpid")).split()[1:]]

def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\\0", b" ").decode().strip()

time.sleep(0.3)   # let the shells start their children
tree = {}
print("OPERATING SYSTEM (host)")
for name in (P + "-c1", P + "-c2"):
    pid = eng.containers.get(name).pid
    kids = children(pid)
    tree[name] = (pid, kids)
    print(f"    parent process of {name}: host pid {pid:>6}  (pid in container {nspid(pid)[-1]})  {cmdline(pid)[:40]}")
    for k in kids:
        print(f"        child process       : host pid {k:>6}  (pid in container {nspid(k)[-1]})  {cmdline(k)}")
''', '''
def children(pid):
    """Os pids cujo pai é ``pid`` (lidos do /proc, como o ps faz)."""
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(p) for p in f.read().split()]
    return out

def nspid(pid):
    with open(f"/proc/{pid}/status") as f:
        return [int(x) for x in next(l for l in f if l.startswith("NSpid")).split()[1:]]

def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\\0", b" ").decode().strip()

time.sleep(0.3)   # deixa os shells iniciarem os filhos
tree = {}
print("SISTEMA OPERACIONAL (host)")
for name in (P + "-c1", P + "-c2"):
    pid = eng.containers.get(name).pid
    kids = children(pid)
    tree[name] = (pid, kids)
    print(f"    processo pai do {name}: pid no host {pid:>6}  (pid no container {nspid(pid)[-1]})  {cmdline(pid)[:40]}")
    for k in kids:
        print(f"        processo filho     : pid no host {k:>6}  (pid no container {nspid(k)[-1]})  {cmdline(k)}")
'''),
    md("""
The same family, drawn from that live data (the notes' picture *how containers work*):
each grey box is one PID namespace; the numbers are host pid → pid inside.
""", """
A mesma família, desenhada a partir desses dados ao vivo (a figura *como funcionam os
containers* das notas): cada caixa cinza é um namespace de PID; os números são pid no
host → pid dentro.
"""),
    code('''
%matplotlib inline
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

fig, ax = plt.subplots(figsize=(9, 3.6))
ax.add_patch(FancyBboxPatch((0.01, 0.02), 0.98, 0.94, boxstyle="round,pad=0.01", fc="#eef3fb", ec="#4a6fa5"))
ax.text(0.03, 0.9, f"host kernel — this notebook is pid {os.getpid()}", fontsize=10, weight="bold")
for i, (name, (pid, kids)) in enumerate(tree.items()):
    x0 = 0.04 + i * 0.48
    ax.add_patch(FancyBboxPatch((x0, 0.06), 0.44, 0.74, boxstyle="round,pad=0.01", fc="#f4f4f4", ec="#888"))
    ns = os.readlink(f"/proc/{pid}/ns/pid")
    ax.text(x0 + 0.01, 0.73, f"{name}   {ns}", fontsize=8.5, weight="bold")
    ax.text(x0 + 0.03, 0.6, f"sh  {pid} → {nspid(pid)[-1]}", fontsize=9, family="monospace",
            bbox=dict(fc="#ffe9b3", ec="#c99a2e"))
    for j, k in enumerate(kids):
        ax.text(x0 + 0.08, 0.45 - j * 0.13, f"sleep  {k} → {nspid(k)[-1]}", fontsize=9,
                family="monospace", bbox=dict(fc="#fff", ec="#c99a2e"))
        ax.plot([x0 + 0.05, x0 + 0.05, x0 + 0.08], [0.57, 0.47 - j * 0.13, 0.47 - j * 0.13], color="#c99a2e", lw=1)
ax.set_axis_off(); ax.set_xlim(0, 1); ax.set_ylim(0, 1)
plt.show()
''', '''
%matplotlib inline
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

fig, ax = plt.subplots(figsize=(9, 3.6))
ax.add_patch(FancyBboxPatch((0.01, 0.02), 0.98, 0.94, boxstyle="round,pad=0.01", fc="#eef3fb", ec="#4a6fa5"))
ax.text(0.03, 0.9, f"kernel do host — este notebook é o pid {os.getpid()}", fontsize=10, weight="bold")
for i, (name, (pid, kids)) in enumerate(tree.items()):
    x0 = 0.04 + i * 0.48
    ax.add_patch(FancyBboxPatch((x0, 0.06), 0.44, 0.74, boxstyle="round,pad=0.01", fc="#f4f4f4", ec="#888"))
    ns = os.readlink(f"/proc/{pid}/ns/pid")
    ax.text(x0 + 0.01, 0.73, f"{name}   {ns}", fontsize=8.5, weight="bold")
    ax.text(x0 + 0.03, 0.6, f"sh  {pid} → {nspid(pid)[-1]}", fontsize=9, family="monospace",
            bbox=dict(fc="#ffe9b3", ec="#c99a2e"))
    for j, k in enumerate(kids):
        ax.text(x0 + 0.08, 0.45 - j * 0.13, f"sleep  {k} → {nspid(k)[-1]}", fontsize=9,
                family="monospace", bbox=dict(fc="#fff", ec="#c99a2e"))
        ax.plot([x0 + 0.05, x0 + 0.05, x0 + 0.08], [0.57, 0.47 - j * 0.13, 0.47 - j * 0.13], color="#c99a2e", lw=1)
ax.set_axis_off(); ax.set_xlim(0, 1); ax.set_ylim(0, 1)
plt.show()
'''),
    md("""
## The PID namespace: `ps` inside and on the host

Inside the container `ps` sees only its own family, and the shell is PID 1.
On the host the same processes are among hundreds of others.
""", """
## O namespace de PID: `ps` dentro e no host

Dentro do container o `ps` só enxerga a própria família, e o shell é o PID 1.
No host os mesmos processos estão no meio de centenas de outros.
"""),
    code('''
!{GB} exec {P}-c1 ps
'''),
    code('''
pid1 = eng.containers.get(P + "-c1").pid
!ps -o pid,ppid,cmd --ppid {pid1} -p {pid1}
print("processes on the host:", len([p for p in os.listdir("/proc") if p.isdigit()]))
''', '''
pid1 = eng.containers.get(P + "-c1").pid
!ps -o pid,ppid,cmd --ppid {pid1} -p {pid1}
print("processos no host:", len([p for p in os.listdir("/proc") if p.isdigit()]))
'''),
    md("""
## `/proc/<pid>/ns`: one link per namespace

Every process has a link per namespace kind; the number in brackets identifies the
namespace. Same number = same namespace. We compare the container's first process with
this notebook's kernel (`/proc/self/ns`).
""", """
## `/proc/<pid>/ns`: um link por namespace

Todo processo tem um link para cada tipo de namespace; o número entre colchetes
identifica o namespace. Mesmo número = mesmo namespace. Comparamos o primeiro processo do
container com o kernel deste notebook (`/proc/self/ns`).
"""),
    code('''
!ls -l /proc/{pid1}/ns
'''),
    code('''
kinds = ["pid", "mnt", "uts", "ipc", "net", "cgroup", "user"] + \
    (["time"] if os.path.exists("/proc/self/ns/time") else [])
print(f"{'namespace':10} {'this notebook':22} {'container':22}")
for k in kinds:
    mine, theirs = os.readlink(f"/proc/self/ns/{k}"), os.readlink(f"/proc/{pid1}/ns/{k}")
    print(f"{k:10} {mine:22} {theirs:22} {'same' if mine == theirs else 'NEW'}")
''', '''
kinds = ["pid", "mnt", "uts", "ipc", "net", "cgroup", "user"] + \
    (["time"] if os.path.exists("/proc/self/ns/time") else [])
print(f"{'namespace':10} {'este notebook':22} {'container':22}")
for k in kinds:
    mine, theirs = os.readlink(f"/proc/self/ns/{k}"), os.readlink(f"/proc/{pid1}/ns/{k}")
    print(f"{k:10} {mine:22} {theirs:22} {'igual' if mine == theirs else 'NOVO'}")
'''),
    md("""
Six namespaces are new: pid, mnt, uts, ipc, net and cgroup. Docker makes the first five
too; its **cgroup** namespace is private by default only on cgroup v2 hosts (on a v1 host,
Docker's default is `--cgroupns=host`; notebook 02 shows which version this machine runs),
while glassbox makes it private on both. The **user** namespace is the host's: root in the container is root on the host
(Docker's default too — `--userns-remap` changes that), but with fewer *capabilities*
(see "User" below). The **time** namespace (Linux 5.6, clocks such as `CLOCK_MONOTONIC`
and `CLOCK_BOOTTIME`) is the host's as well: Docker does not make one either. The
`*_for_children` entries in the listing above are the namespaces a process's *future*
children will get (pid and time only take effect for children). The notes' "User —
processes can be separated by users" is what a user namespace *can* do; it is an option,
not the default.

Children inherit the namespaces of their parent — the notes' point. Check the three
`sleep`s:
""", """
Seis namespaces são novos: pid, mnt, uts, ipc, net e cgroup. O Docker também cria os
cinco primeiros; o namespace de **cgroup** dele só é privado por padrão em hosts com cgroup
v2 (num host v1, o padrão do Docker é `--cgroupns=host`; o notebook 02 mostra qual versão
esta máquina usa), enquanto o glassbox o torna privado nos dois. O namespace de **usuário** é o do host: root no container é root no
host (também é o padrão do Docker — `--userns-remap` muda isso), mas com menos
*capabilities* (veja "Usuário" abaixo). O namespace de **tempo** (Linux 5.6, relógios como
`CLOCK_MONOTONIC` e `CLOCK_BOOTTIME`) também é o do host: o Docker não cria um. As entradas
`*_for_children` na listagem acima são os namespaces que os *futuros* filhos de um processo
vão receber (pid e time só valem para os filhos). Quando as notas dizem “User – processos
podem ser separados por usuários”, estão descrevendo o que um namespace de usuário *pode*
fazer: é opcional, não o padrão.

Os filhos herdam os namespaces do pai — o ponto das notas. Confira os três `sleep`:
"""),
    code('''
for k in tree[P + "-c1"][1]:
    same = all(os.readlink(f"/proc/{k}/ns/{n}") == os.readlink(f"/proc/{pid1}/ns/{n}") for n in kinds)
    print(k, "same namespaces as its parent:", same)
pid2 = eng.containers.get(P + "-c2").pid
print("c1 and c2 share the pid namespace?", os.readlink(f"/proc/{pid1}/ns/pid") == os.readlink(f"/proc/{pid2}/ns/pid"))
''', '''
for k in tree[P + "-c1"][1]:
    same = all(os.readlink(f"/proc/{k}/ns/{n}") == os.readlink(f"/proc/{pid1}/ns/{n}") for n in kinds)
    print(k, "mesmos namespaces do pai:", same)
pid2 = eng.containers.get(P + "-c2").pid
print("c1 e c2 compartilham o namespace de pid?", os.readlink(f"/proc/{pid1}/ns/pid") == os.readlink(f"/proc/{pid2}/ns/pid"))
'''),
    md("""
## UTS: its own hostname

The UTS namespace holds the hostname. The container's is its short id; the host keeps its
own. `nsenter` (what `glassbox exec` does with `setns(2)`) can join just that one namespace.
""", """
## UTS: um hostname próprio

O namespace UTS guarda o hostname. O do container é o seu id curto; o host mantém o dele.
O `nsenter` (o que o `glassbox exec` faz com `setns(2)`) pode entrar só nesse namespace.
"""),
    code('''
import socket
print("host     :", socket.gethostname())
print("container:", eng.run("busybox", ["hostname"], auto_remove=True).stdout.decode().strip())
print("nsenter --uts into c1: ", end="", flush=True)
!nsenter --target {pid1} --uts hostname
''', '''
import socket
print("host     :", socket.gethostname())
print("container:", eng.run("busybox", ["hostname"], auto_remove=True).stdout.decode().strip())
print("nsenter --uts em c1: ", end="", flush=True)
!nsenter --target {pid1} --uts hostname
'''),
    md("""
## Mount: its own file system tree

The mount namespace gives the container its own list of mounts: its root `/` is an
overlay (notebook 03), and the host's disks are not there at all.
""", """
## Montagem (mount): uma árvore de arquivos própria

O namespace de mount dá ao container sua própria lista de montagens: a raiz `/` é um
overlay (notebook 03), e os discos do host nem aparecem.
"""),
    code('''
!{GB} exec {P}-c1 cat /proc/mounts
print("\\nthe root / seen by this notebook:")
!grep -E '^[^ ]+ / ' /proc/self/mounts
''', '''
!{GB} exec {P}-c1 cat /proc/mounts
print("\\na raiz / vista por este notebook:")
!grep -E '^[^ ]+ / ' /proc/self/mounts
'''),
    md("""
## Network: an empty stack

A new network namespace starts with only the loopback interface `lo`. glassbox's default
is that isolated stack (notebook 10 connects containers).
""", """
## Rede: uma pilha vazia

Um namespace de rede novo começa só com a interface de loopback `lo`. O padrão do
glassbox é essa pilha isolada (o notebook 10 conecta containers).
"""),
    code('''
!{GB} exec {P}-c1 cat /proc/net/dev
print("host interfaces:", sorted(os.listdir("/sys/class/net")))
''', '''
!{GB} exec {P}-c1 cat /proc/net/dev
print("interfaces do host:", sorted(os.listdir("/sys/class/net")))
'''),
    md("""
## IPC: its own shared memory and message queues

System V IPC objects (shared memory, semaphores, queues) live in the IPC namespace. One
made on the host is invisible in the container.
""", """
## IPC: memória compartilhada e filas próprias

Objetos de IPC System V (memória compartilhada, semáforos, filas) vivem no namespace
IPC. Um objeto criado no host é invisível no container.
"""),
    code('''
out = subprocess.run(["ipcmk", "-Q"], capture_output=True, text=True).stdout.strip()
qid = out.split(":")[-1].strip()
print("host made:", out)
with open("/proc/sysvipc/msg") as f:
    print("host queues     :", len(f.readlines()) - 1)
!{GB} exec {P}-c1 sh -c 'echo "container queues: $(($(wc -l < /proc/sysvipc/msg) - 1))"'
subprocess.run(["ipcrm", "-q", qid], check=True);
''', '''
out = subprocess.run(["ipcmk", "-Q"], capture_output=True, text=True).stdout.strip()
qid = out.split(":")[-1].strip()
print("o host criou:", out)
with open("/proc/sysvipc/msg") as f:
    print("filas no host     :", len(f.readlines()) - 1)
!{GB} exec {P}-c1 sh -c 'echo "filas no container: $(($(wc -l < /proc/sysvipc/msg) - 1))"'
subprocess.run(["ipcrm", "-q", qid], check=True);
'''),
    md("""
## User: the same users (by default), fewer capabilities

`id` says root inside; the uid map `0 0 4294967295` means "uid 0 is host uid 0": no
user namespace, like Docker's default. Root inside is not *all-powerful*, though: the
kernel checks **capabilities**, and a container keeps only Docker's default set (14 of
them: no `CAP_SYS_ADMIN`, so no `mount`; no `CAP_NET_ADMIN`, no `CAP_SYS_MODULE`…).
`CapEff` in `/proc/self/status` is the effective set, one bit per capability.
""", """
## Usuário: os mesmos usuários (por padrão), menos capabilities

Dentro do container, o `id` mostra root; o mapa de uid `0 0 4294967295` quer dizer "uid 0
é o uid 0 do host": sem namespace de usuário, como no padrão do Docker. Mas o root de
dentro não *pode tudo*: o kernel confere **capabilities**, e um container fica só com o
conjunto padrão do Docker (14 delas: sem `CAP_SYS_ADMIN`, então sem `mount`; sem
`CAP_NET_ADMIN`, sem `CAP_SYS_MODULE`…). O `CapEff` em `/proc/self/status` é o conjunto
efetivo, um bit por capability.
"""),
    code_pt('''
!{GB} exec {P}-c1 sh -c 'id; cat /proc/self/uid_map'
host_caps = int(next(l for l in open("/proc/self/status") if l.startswith("CapEff")).split()[1], 16)
inside = eng.run("busybox", ["sh", "-c", "grep CapEff /proc/self/status; mount -t tmpfs x /mnt"],
                 auto_remove=True)
caps = int(inside.stdout.decode().split()[1], 16)
print(f"CapEff host {host_caps:#x} ({bin(host_caps).count('1')} capabilities) · "
      f"container {caps:#x} ({bin(caps).count('1')})")
print("mount inside:", inside.stderr.decode().strip(), f"(exit {inside.exit_code})")
''', {'"mount inside:"': '"mount lá dentro:"', "(exit {inside.exit_code})": "(saída {inside.exit_code})"}),
    *exercise(
        "A variation on `nsenter`: start a detached container named `nb01-student` that runs "
        "`sleep 600`, with **no** `hostname=` option. Then, **from the host**, rename it to "
        "`student` by joining only its UTS namespace (`nsenter --target PID --uts hostname "
        "student`; the container's host PID is `eng.containers.get(...).pid`). The check asks "
        "the container itself for its hostname, and the host for its own.",
        "Uma variação do `nsenter`: inicie em segundo plano um container chamado "
        "`nb01-student` que roda `sleep 600`, **sem** a opção `hostname=`. Depois, **a partir "
        "do host**, mude o nome dele para `student` entrando só no namespace UTS dele "
        "(`nsenter --target PID --uts hostname student`; o PID do container no host é "
        "`eng.containers.get(...).pid`). A verificação pergunta o hostname ao próprio "
        "container, e ao host o dele.",
        attempt='''
# your code here: eng.run(..., detach=True), then !nsenter --target {pid} --uts hostname student
''',
        check_fn='''
def check_01():
    """Asks the running container (glassbox exec = setns into all its namespaces) and the host."""
    try:
        c = eng.containers.get(P + "-student")
    except NotFound:
        return check(False, "", f"there is no container {P}-student: start one with name='{P}-student', detach=True")
    if not c.running:
        return check(False, "", f"{P}-student is {c.status}: it must keep running (sleep 600, detach=True)")
    if c.config["Config"].get("Hostname") == "student":
        return check(False, "", "you used the hostname= option: this time leave it out and rename the "
                     "running container from the host with nsenter --uts")
    inside = subprocess.run([GB, "exec", c.id, "hostname"], capture_output=True, text=True).stdout.strip()
    if inside != "student":
        return check(False, "", f"inside, {P}-student is still called {inside!r}: "
                     f"!nsenter --target {c.pid} --uts hostname student")
    check(socket.gethostname() != "student",
          f"{P}-student is now 'student' inside, the host is still {socket.gethostname()!r}: "
          "you changed one UTS namespace only", "the host got renamed too: did nsenter get --uts?")
check_01()
''', check_fn_pt='''
def check_01():
    """Pergunta ao container em execução (glassbox exec = setns em todos os namespaces dele) e ao host."""
    try:
        c = eng.containers.get(P + "-student")
    except NotFound:
        return check(False, "", f"não existe o container {P}-student: inicie um com name='{P}-student', detach=True")
    if not c.running:
        return check(False, "", f"{P}-student está {c.status}: ele precisa continuar rodando (sleep 600, detach=True)")
    if c.config["Config"].get("Hostname") == "student":
        return check(False, "", "você usou a opção hostname=: desta vez deixe-a de fora e renomeie o "
                     "container em execução a partir do host com nsenter --uts")
    inside = subprocess.run([GB, "exec", c.id, "hostname"], capture_output=True, text=True).stdout.strip()
    if inside != "student":
        return check(False, "", f"lá dentro, {P}-student ainda se chama {inside!r}: "
                     f"!nsenter --target {c.pid} --uts hostname student")
    check(socket.gethostname() != "student",
          f"{P}-student agora é 'student' lá dentro, e o host continua {socket.gethostname()!r}: "
          "você mudou só um namespace UTS", "o host também foi renomeado: o nsenter recebeu --uts?")
check_01()
''',
        solution='''
student = eng.run("busybox", ["sleep", "600"], name=P + "-student", detach=True)
pid = eng.containers.get(student.id).pid
!nsenter --target {pid} --uts hostname student
check_01()
'''),
    summary(
        ["A container is an ordinary process of the host's kernel; namespaces give it its own view of pids, mounts, hostname, IPC, network and cgroups.",
         '`/proc/<pid>/ns` shows which namespaces a process is in; its children inherit them.',
         "Root in a container is the host's root unless a user namespace maps it elsewhere; by default what holds it back is a smaller set of capabilities."],
        ['Um container é um processo comum do kernel do host; os namespaces lhe dão uma visão própria de pids, montagens, hostname, IPC, rede e cgroups.',
         'O `/proc/<pid>/ns` mostra em quais namespaces um processo está; os filhos dele os herdam.',
         'O root de um container é o root do host, a não ser que um user namespace o mapeie para outro uid; por padrão, o que o segura é um conjunto menor de capabilities.'],
        '[02 · cgroups](02-cgroups.ipynb), what a container may use.',
        '[02 · cgroups](02-cgroups.ipynb), o que um container pode usar.'),
    *finish(),
]

CELLS = gate(CELLS, "root", 'print("nsenter --uts into c1: "',
             note_en="(joining a container's namespace from the host. Rootless, its namespaces "
                     "belong to its user namespace: join that too, `nsenter --target PID --user "
                     "--preserve-credentials --uts hostname`.)",
             note_pt="(entrar no namespace de um container a partir do host. No rootless, os "
                     "namespaces dele pertencem ao user namespace dele: entre nele também, "
                     "`nsenter --target PID --user --preserve-credentials --uts hostname`.)")
"""nsenter from the host into a container's UTS namespace."""
