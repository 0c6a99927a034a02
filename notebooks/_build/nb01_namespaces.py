from common import code, exercise, finish, header, md, setup

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
namespace terão "filhos" que estão no mesmo namespace. [...]
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
    md("""
## Two containers, each a parent with three children

We start two containers in the background. Each runs a shell (the *parent*) that starts
three `sleep` processes (the *children*) — exactly the picture in the notes.
""", """
## Dois containers, cada um um pai com três filhos

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
kinds = ["pid", "mnt", "uts", "ipc", "net", "cgroup", "user"]
print(f"{'namespace':10} {'this notebook':22} {'container':22}")
for k in kinds:
    mine, theirs = os.readlink(f"/proc/self/ns/{k}"), os.readlink(f"/proc/{pid1}/ns/{k}")
    print(f"{k:10} {mine:22} {theirs:22} {'same' if mine == theirs else 'NEW'}")
''', '''
kinds = ["pid", "mnt", "uts", "ipc", "net", "cgroup", "user"]
print(f"{'namespace':10} {'este notebook':22} {'container':22}")
for k in kinds:
    mine, theirs = os.readlink(f"/proc/self/ns/{k}"), os.readlink(f"/proc/{pid1}/ns/{k}")
    print(f"{k:10} {mine:22} {theirs:22} {'igual' if mine == theirs else 'NOVO'}")
'''),
    md("""
Six namespaces are new, as Docker does by default: pid, mnt, uts, ipc, net, cgroup.
The **user** namespace is the host's: root in the container is root on the host (Docker's
default too — `--userns-remap` changes that). The notes' "User — processes can be
separated by users" is what a user namespace *can* do; it is an option, not the default.

Children inherit the namespaces of their parent — the notes' point. Check the three
`sleep`s:
""", """
Seis namespaces são novos, como o Docker faz por padrão: pid, mnt, uts, ipc, net, cgroup.
O namespace de **usuário** é o do host: root no container é root no host (também é o
padrão do Docker — `--userns-remap` muda isso). O "User - Processos podem ser separados por
usuários" das notas é o que um namespace de usuário *pode* fazer; é uma opção, não o padrão.

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
'''),
    md("""
## Mount: its own file system tree

The mount namespace gives the container its own list of mounts: its root `/` is an
overlay (notebook 03), and the host's disks are not there at all.
""", """
## Mount: uma árvore de arquivos própria

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
'''),
    md("""
## User: the same users (by default)

`id` says root inside; the uid map `0 0 4294967295` means "uid 0 is host uid 0": no
user namespace, like Docker's default.
""", """
## User: os mesmos usuários (por padrão)

O `id` diz root dentro; o mapa de uid `0 0 4294967295` quer dizer "uid 0 é o uid 0 do
host": sem namespace de usuário, como no padrão do Docker.
"""),
    code('''
!{GB} exec {P}-c1 sh -c 'id; cat /proc/self/uid_map'
'''),
    *exercise(
        "Run a container named `nb01-student` whose hostname is `student` (the `hostname=` "
        "option of `eng.run`, or `--hostname` on the CLI) that runs `hostname`. Keep it (no "
        "`auto_remove`/`--rm`): the check looks at the container itself. Put what it printed "
        "into `answer`.",
        "Rode um container chamado `nb01-student` cujo hostname seja `student` (a opção "
        "`hostname=` do `eng.run`, ou `--hostname` na CLI) e que execute `hostname`. Não o "
        "remova (sem `auto_remove`/`--rm`): a verificação olha o próprio container. Coloque "
        "em `answer` o que ele imprimiu.",
        attempt='''
answer = None   # your code here, e.g. eng.run("busybox", [...], name=P + "-student", ...).stdout.decode()
''',
        check_fn='''
def check_01():
    """Looks at the container you ran: its UTS hostname, its command, its exit code."""
    try:
        c = eng.containers.get(P + "-student")
    except NotFound:
        return check(False, "", f"there is no container {P}-student (see ps -a): run one with "
                     f"name='{P}-student' and without auto_remove")
    if c.running:
        return check(False, "", f"{P}-student is still running: its command should be just `hostname`")
    host = c.config["Config"].get("Hostname")
    argv = [c.config["Path"], *c.config["Args"]]
    if host != "student":
        return check(False, "", f"{P}-student's hostname is {host!r}: pass hostname='student'")
    if "hostname" not in " ".join(argv) or c.exit_code != 0:
        return check(False, "", f"{P}-student ran {argv} (exit code {c.exit_code}): its command should be ['hostname']")
    text = answer.decode() if isinstance(answer, bytes) else answer
    if not isinstance(text, str) or text.strip() != "student":
        return check(False, "", f"{P}-student printed its hostname, but answer is {answer!r}: "
                     "use .stdout.decode() of eng.run(...)")
    check(socket.gethostname() != "student",
          f"{P}-student had its own hostname: the UTS namespace at work (the host is "
          f"{socket.gethostname()!r})", "this host itself is called 'student': the test proves nothing here")
check_01()
''', check_fn_pt='''
def check_01():
    """Olha o container que você rodou: o hostname do UTS, o comando, o código de saída."""
    try:
        c = eng.containers.get(P + "-student")
    except NotFound:
        return check(False, "", f"não existe o container {P}-student (veja o ps -a): rode um com "
                     f"name='{P}-student' e sem auto_remove")
    if c.running:
        return check(False, "", f"{P}-student ainda está rodando: o comando dele deve ser só `hostname`")
    host = c.config["Config"].get("Hostname")
    argv = [c.config["Path"], *c.config["Args"]]
    if host != "student":
        return check(False, "", f"o hostname de {P}-student é {host!r}: passe hostname='student'")
    if "hostname" not in " ".join(argv) or c.exit_code != 0:
        return check(False, "", f"{P}-student rodou {argv} (código de saída {c.exit_code}): o comando deve ser ['hostname']")
    text = answer.decode() if isinstance(answer, bytes) else answer
    if not isinstance(text, str) or text.strip() != "student":
        return check(False, "", f"{P}-student imprimiu o hostname dele, mas answer é {answer!r}: "
                     "use .stdout.decode() de eng.run(...)")
    check(socket.gethostname() != "student",
          f"{P}-student teve seu próprio hostname: o namespace UTS em ação (o host é "
          f"{socket.gethostname()!r})", "este host se chama 'student': o teste não prova nada aqui")
check_01()
''',
        solution='''
answer = eng.run("busybox", ["hostname"], name=P + "-student", hostname="student").stdout.decode()
check_01()
'''),
    *finish(),
]
