from common import _pt, code, exercise, finish, header, md, notes_vs_kernel, setup

SLUG = "10b-installing"

PT = {
    "tier:": "nível (tier):",
    'print("what it allows:", TIER_MEANING[report["Tier"]])':
        'TIER_PT = {"full": "tudo: containers, limites, redes, o curso inteiro",\n'
        '           "rootless (limits)": "containers num user namespace, com limites no cgroup delegado",\n'
        '           "rootless": "containers num user namespace; limites recusados até um cgroup ser delegado",\n'
        '           "user-space": "nenhum container inicia aqui; imagens, registries, árvores de camadas, "\n'
        '                         "parsing de Dockerfile e specs continuam funcionando de verdade"}\n'
        'print("o que ele permite:", TIER_PT.get(report["Tier"], TIER_MEANING[report["Tier"]]))',
    "'engine library'": "'biblioteca do engine'",
    "# ask the doctor": "# pergunte ao doctor",
    "not installed": "não instalado",
    "the chain of parents of": "a cadeia de pais de",
    "Docker's pieces on this machine": "As peças do Docker nesta máquina",
    "glassbox's pieces": "As peças do glassbox",
    "The doctor's report (its JSON) as run by FLAGS...": "O relatório do doctor (o JSON dele) rodado por FLAGS...",
    "a container of glassbox": "um container do glassbox",
    "# what rootless costs: the doctor again, as the ordinary user nobody (only root can switch users)":
        "# o que o rootless custa: o doctor de novo, como o usuário comum nobody (só o root pode trocar de usuário)",
    '"tier as nobody:"': '"nível como nobody:"',
    '"  lost: ': '"  perdido: ',
    '"you are uid", os.geteuid(), "already: the report above is the rootless one"':
        '"você já é o uid", os.geteuid(), "e o relatório acima é o do rootless"',
    '"  limited: ': '"  limitado: ',
}


def pcode(src: str):
    src = src.strip("\n")
    return code(src, _pt(src, PT))


CELLS = [
    *header(
        "10b", "Installing: what this machine lets the lab do",
        "Instalando: o que esta máquina deixa o laboratório fazer",
        ["Ask `glassbox doctor` what this machine grants, and read its tier.",
         "Know what each tier allows: full (root), rootless (with or without limits), user-space.",
         "Compare what a Docker installation puts on a machine (dockerd, containerd, the shim, "
         "runc) with what glassbox needs, and see glassbox's chain live.",
         "Run the doctor as an ordinary user and see what rootless costs.",
         "Find out who a container's root is for the host, as root and as an ordinary user."],
        ["Perguntar ao `glassbox doctor` o que esta máquina concede e ler o nível (tier) dela.",
         "Saber o que cada nível permite: full (root), rootless (com ou sem limites), user-space.",
         "Comparar o que uma instalação do Docker põe numa máquina (dockerd, containerd, o shim, "
         "runc) com o que o glassbox precisa, e ver a cadeia do glassbox ao vivo.",
         "Rodar o doctor como um usuário comum e ver o que o rootless custa.",
         "Descobrir quem é o root de um container para o host, como root e como usuário comum."],
        ["doctor.py", "rootless"],
        quote_pt="""
O docker foi feito basicamente para o Linux. Para o Windows Professional se utiliza o recurso
do Hyper-V. Já para as outras versões do Windows (e.g. Home), será necessário instalar o
**Docker Toolbox**, que rodará o Linux nesta máquina virtual.
""",
        quote_en="""
Docker was made basically for Linux. On Windows Professional, Hyper-V is used. On the other
editions of Windows (e.g. Home), you must install **Docker Toolbox**, which runs Linux in a
virtual machine.
"""),
    *setup("nbinst"),
    md("""
## Installing glassbox

glassbox is a Python package plus three small C programs; the course is installed with

```sh
make setup   # Debian packages (busybox-static, a C compiler, iproute2, ...), the venv, the base image, the probe
make lab     # set-up, then JupyterLab on 127.0.0.1 with these notebooks
```

What the lab can then do depends on the machine, not on the installation: a container is a
bundle of kernel features, and a machine may grant some and refuse others. `glassbox doctor`
*tries* each feature for real, in throwaway child processes, and picks the **tier**:
""", """
## Instalando o glassbox

O glassbox é um pacote Python mais três pequenos programas em C; o curso é instalado com

```sh
make setup   # pacotes Debian (busybox-static, um compilador C, iproute2, ...), o venv, a imagem base, a sonda
make lab     # o setup, depois o JupyterLab em 127.0.0.1 com estes notebooks
```

O que o laboratório consegue fazer depois depende da máquina, não da instalação: um container
é um pacote de recursos do kernel, e uma máquina pode conceder uns e recusar outros. O
`glassbox doctor` *testa* cada recurso de verdade, em processos filhos descartáveis, e escolhe
o **nível** (tier):
"""),
    code('''
!{GB} doctor
'''),
    pcode('''
from glassbox.doctor import TIER_MEANING


def doctor(*prefix, env=None):
    """The doctor's report (its JSON) as run by FLAGS... (e.g. setpriv to run it as another user)."""
    p = subprocess.run([*prefix, GB, "doctor", "--format", "json"], capture_output=True, text=True, env=env)
    return json.loads(p.stdout)


# ask the doctor
report = doctor()
print("tier:", report["Tier"])
print("what it allows:", TIER_MEANING[report["Tier"]])
'''),
    md("""
| tier | who | what works |
| --- | --- | --- |
| **full** | root on a Linux machine (a laptop, a VM, this lab's container) | everything: namespaces, cgroup limits, bridges and published ports, the whole course |
| **rootless (limits)** | an ordinary user, with user namespaces and a cgroup subtree delegated (systemd does it per user) | containers in a user namespace, with `-m`, `--cpus`, `--pids-limit` |
| **rootless** | an ordinary user with user namespaces, nothing delegated (a JupyterHub account, often) | containers in a user namespace; limits refused; bridge and user networks in a network namespace of your own, `-p` on ports ≥ 1024; no `--network host` |
| **user-space** | no user namespaces, no mounts (a mybinder.org pod) | no container starts; pull/push, manifests and layers, the layer tree, Dockerfile parsing and cache keys still run for real |

Root vs rootless in one sentence: as root, the container's root is the host's uid 0 with
most of its capabilities dropped (notebook 13); rootless, the container's root is **your**
uid mapped into a user namespace, so even an escape lands as you, not as root. Docker has
the same two modes (`dockerd` as root, or "rootless mode" with `rootlesskit`).
""", """
| nível | quem | o que funciona |
| --- | --- | --- |
| **full** | root numa máquina Linux (um laptop, uma VM, o container deste laboratório) | tudo: namespaces, limites de cgroup, bridges e portas publicadas, o curso inteiro |
| **rootless (limits)** | um usuário comum, com user namespaces e uma subárvore de cgroup delegada (o systemd faz isso por usuário) | containers num user namespace, com `-m`, `--cpus`, `--pids-limit` |
| **rootless** | um usuário comum com user namespaces, nada delegado (uma conta de JupyterHub, muitas vezes) | containers num user namespace; limites recusados; redes bridge e de usuário num network namespace só seu, `-p` em portas ≥ 1024; sem `--network host` |
| **user-space** | sem user namespaces, sem montagens (um pod do mybinder.org) | nenhum container inicia; pull/push, manifests e camadas, a árvore de camadas, o parsing do Dockerfile e as chaves de cache continuam funcionando de verdade |

Root versus rootless numa frase: como root, o root do container é o uid 0 do host com a
maior parte das capabilities removidas (notebook 13); no rootless, o root do container é o
**seu** uid mapeado num user namespace, então até uma fuga cai como você, não como root. O
Docker tem os mesmos dois modos (`dockerd` como root, ou o "rootless mode" com `rootlesskit`).
"""),
    md("""
## What a Docker installation puts on a machine

Installing Docker Engine on Linux (`apt install docker.io`, or Docker's own packages)
installs and starts a **chain of programs**: the `docker` CLI talks over
`/var/run/docker.sock` to **dockerd** (the API, images, networks, volumes), which asks
**containerd** (container lifecycle, image store), which starts one
**containerd-shim-runc-v2** per container, which runs **runc** once to set up the
namespaces, cgroup and mounts and `execve` the container's process; runc then exits and the
shim stays as its parent. glassbox does the same work in fewer pieces: the CLI (or this
notebook, or `glassbox daemon` for Docker clients) calls the engine library in-process, which
forks a **shim** per container; the shim sets up the kernel state (runc's job) and becomes
`gbx-monitor`, a small C parent that keeps the logs and the exit code. No service has to run.
""", """
## O que uma instalação do Docker põe numa máquina

Instalar o Docker Engine no Linux (`apt install docker.io`, ou os pacotes do próprio Docker)
instala e inicia uma **cadeia de programas**: a CLI `docker` fala por
`/var/run/docker.sock` com o **dockerd** (a API, imagens, redes, volumes), que pede ao
**containerd** (ciclo de vida dos containers, repositório de imagens), que inicia um
**containerd-shim-runc-v2** por container, que roda o **runc** uma vez para montar os
namespaces, o cgroup e as montagens e fazer o `execve` do processo do container; o runc então
sai e o shim fica como pai dele. O glassbox faz o mesmo trabalho com menos peças: a CLI (ou
este notebook, ou o `glassbox daemon` para clientes Docker) chama a biblioteca do engine no
mesmo processo, que faz o fork de um **shim** por container; o shim prepara o estado do kernel
(o trabalho do runc) e vira o `gbx-monitor`, um pequeno pai em C que guarda os logs e o código
de saída. Nenhum serviço precisa estar rodando.
"""),
    pcode('''
print("Docker's pieces on this machine")
for exe in ("docker", "dockerd", "containerd", "containerd-shim-runc-v2", "runc"):
    print(f"  {exe:<24} {shutil.which(exe) or 'not installed'}")
print("glassbox's pieces")
print(f"  {'glassbox (CLI)':<24} {GB}")
print(f"  {'engine library':<24} {os.path.dirname(glassbox.__file__)}")

eng.run("busybox", ["sleep", "600"], name=P + "-chain", detach=True)
c = eng.containers.get(P + "-chain")
pid, chain = c.pid, []
while pid > 1:
    comm = open(f"/proc/{pid}/comm").read().strip()
    chain.append(f"{pid} {comm}")
    pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
print("the chain of parents of", "a container of glassbox" + ":", " ← ".join(chain + ["1"]))
'''),
    notes_vs_kernel(
        "Docker was made for Linux; on Windows Pro it uses Hyper-V; on Windows Home you "
        "install Docker Toolbox, which runs Linux in a virtual machine.",
        "A container is a process of a **Linux kernel** (`uname -s` below: this one's is "
        "Linux), so on Windows and macOS there is always a Linux VM under Docker. Docker "
        "Desktop runs it with **WSL 2** (also on Windows Home) or Hyper-V, and on macOS with "
        "Apple's virtualization framework. **Docker Toolbox** (VirtualBox + docker-machine) "
        "was deprecated in 2020. On Linux nothing is virtualised: install the engine, or run "
        "glassbox, directly on the host's kernel.",
        "o Docker foi feito para o Linux; no Windows Pro ele usa o Hyper-V; no Windows Home "
        "se instala o Docker Toolbox, que roda o Linux numa máquina virtual.",
        "Um container é um processo de um **kernel Linux** (o `uname -s` abaixo: o deste é "
        "Linux), então no Windows e no macOS sempre há uma VM Linux por baixo do Docker. O "
        "Docker Desktop a roda com o **WSL 2** (também no Windows Home) ou com o Hyper-V, e no "
        "macOS com o framework de virtualização da Apple. O **Docker Toolbox** (VirtualBox + "
        "docker-machine) foi descontinuado em 2020. No Linux nada é virtualizado: instale o "
        "engine, ou rode o glassbox, direto sobre o kernel do host."),
    code('''
!uname -s -r
'''),
    pcode('''
# what rootless costs: the doctor again, as the ordinary user nobody (only root can switch users)
GOOD = ("ok", "info", "root", "rootless")
as_root = {c["feature"]: c["status"] for c in report["Checks"]}
if os.geteuid() == 0:
    home = tempfile.mkdtemp(prefix=P + "-home-"); os.chmod(home, 0o777)
    env = {k: v for k, v in os.environ.items() if k != "GLASSBOX_ROOT"} | {"HOME": home}
    as_nobody = doctor("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", env=env)
    shutil.rmtree(home)
    print("tier as nobody:", as_nobody["Tier"])
    for c in as_nobody["Checks"]:
        if c["status"] not in GOOD and as_root.get(c["feature"]) in GOOD:
            print(f"  lost: {c['feature']:<24} {c['status']}")
else:
    print("you are uid", os.geteuid(), "already: the report above is the rootless one")
    for c in report["Checks"]:
        if c["status"] not in GOOD:
            print(f"  limited: {c['feature']:<24} {c['status']}")
'''),
    *exercise(
        "**Who is a container's root, for the host?** Inside every container `id -u` says 0; "
        "the host's kernel may say otherwise. Start a detached busybox container `nbinst-who` "
        "that runs `sleep 600`. Then read, **on the host**, the files of its process (the pid is "
        "`eng.containers.get(...).pid`, or `State.Pid` in `inspect`): put in `host_uid` the real "
        "uid on the `Uid:` line of `/proc/<pid>/status`, and in `uid_map` the first line of "
        "`/proc/<pid>/uid_map` as three numbers (first id inside, first id on the host, how "
        "many). This works as root and as an ordinary user (the rootless tier); only the answer "
        "differs. The check asks the container for `id -u` and reads both files again, live.",
        "**Quem é o root de um container, para o host?** Dentro de todo container o `id -u` "
        "diz 0; o kernel do host pode dizer outra coisa. Inicie em segundo plano um container "
        "busybox `nbinst-who` que roda `sleep 600`. Depois leia, **no host**, os arquivos do "
        "processo dele (o pid é `eng.containers.get(...).pid`, ou `State.Pid` no `inspect`): "
        "ponha em `host_uid` o uid real da linha `Uid:` de `/proc/<pid>/status` e em `uid_map` "
        "a primeira linha de `/proc/<pid>/uid_map` como três números (primeiro id dentro, "
        "primeiro id no host, quantos). Isso funciona como root e como usuário comum (o nível "
        "rootless); só a resposta muda. A verificação pergunta o `id -u` ao container e lê os "
        "dois arquivos de novo, ao vivo.",
        attempt='''
host_uid, uid_map = None, None   # your code here: run nbinst-who, then read /proc/<pid>/status and uid_map
''',
        check_fn='''
def check_inst():
    """Live: the container, its uid inside, and its uid and mapping as the host's kernel sees them."""
    name = P + "-who"
    try:
        c = eng.containers.get(name)
    except NotFound:
        return check(False, "", f"there is no container {name}: run busybox sleep 600 detached with --name {name}")
    if not c.running:
        return check(False, "", f"{name} is {c.status}: it must be running (-d, sleep 600)")
    inside = subprocess.run([GB, "exec", name, "id", "-u"], capture_output=True, text=True).stdout.strip()
    status = open(f"/proc/{c.pid}/status").read().splitlines()
    real = int(next(ln for ln in status if ln.startswith("Uid:")).split()[1])
    mapping = [int(x) for x in open(f"/proc/{c.pid}/uid_map").read().split()[:3]]
    if host_uid != real:
        return check(False, "", f"host_uid is {host_uid!r}: read the first number of the Uid: line of /proc/{c.pid}/status")
    if list(uid_map or ()) != mapping:
        return check(False, "", f"uid_map is {uid_map!r}: the first line of /proc/{c.pid}/uid_map, as three ints")
    if inside != "0" or mapping[0] != 0 or mapping[1] != real:
        return check(False, "", f"inside {name} id -u says {inside!r}: run it as root (no --user)")
    if real == 0:
        check(True, "root inside is uid 0 on the host (tier full): what holds it in are the dropped capabilities, "
              "seccomp and the namespaces (notebook 13)", "")
    else:
        check(True, f"root inside is uid {real} on the host, you (tier rootless): the user namespace maps "
              f"{mapping[2]} id(s) from {real}; an escape lands as you, not as root", "")
check_inst()
''', check_fn_pt='''
def check_inst():
    """Ao vivo: o container, o uid dele lá dentro, e o uid e o mapeamento como o kernel do host os vê."""
    name = P + "-who"
    try:
        c = eng.containers.get(name)
    except NotFound:
        return check(False, "", f"não há container {name}: rode busybox sleep 600 em segundo plano com --name {name}")
    if not c.running:
        return check(False, "", f"{name} está {c.status}: ele precisa estar rodando (-d, sleep 600)")
    inside = subprocess.run([GB, "exec", name, "id", "-u"], capture_output=True, text=True).stdout.strip()
    status = open(f"/proc/{c.pid}/status").read().splitlines()
    real = int(next(ln for ln in status if ln.startswith("Uid:")).split()[1])
    mapping = [int(x) for x in open(f"/proc/{c.pid}/uid_map").read().split()[:3]]
    if host_uid != real:
        return check(False, "", f"host_uid é {host_uid!r}: leia o primeiro número da linha Uid: de /proc/{c.pid}/status")
    if list(uid_map or ()) != mapping:
        return check(False, "", f"uid_map é {uid_map!r}: a primeira linha de /proc/{c.pid}/uid_map, como três ints")
    if inside != "0" or mapping[0] != 0 or mapping[1] != real:
        return check(False, "", f"dentro de {name} o id -u diz {inside!r}: rode-o como root (sem --user)")
    if real == 0:
        check(True, "o root lá dentro é o uid 0 do host (nível full): o que o segura são as capabilities removidas, "
              "o seccomp e os namespaces (notebook 13)", "")
    else:
        check(True, f"o root lá dentro é o uid {real} do host, você (nível rootless): o user namespace mapeia "
              f"{mapping[2]} id(s) a partir de {real}; uma fuga cai como você, não como root", "")
check_inst()
''',
        solution='''
!{GB} run -d --name {P}-who busybox sleep 600
pid = eng.containers.get(P + "-who").pid
status = open(f"/proc/{pid}/status").read().splitlines()
host_uid = int(next(ln for ln in status if ln.startswith("Uid:")).split()[1])
uid_map = [int(x) for x in open(f"/proc/{pid}/uid_map").read().split()[:3]]
print("id -u: 0 · /proc/<pid>/status Uid:", host_uid, "· uid_map:", uid_map)
check_inst()
'''),
    md("""
## Summary

- Installing glassbox is `make setup` (or `make lab`); what it can then do is the machine's
  answer, which `glassbox doctor` gives as a tier: full, rootless (limits), rootless,
  user-space.
- Rootless trades power for safety: the container's root is your own uid (its
  `/proc/<pid>/uid_map` says so; as root it is uid 0, held in by dropped capabilities);
  limits need a delegated cgroup, and networks live in a network namespace of your own,
  with `-p` on ports ≥ 1024.
- Docker installs a chain of services (dockerd → containerd → shim → runc); glassbox needs
  none running: the library forks a shim per container, and `glassbox daemon` speaks
  Docker's API when a Docker client needs it (notebook 08).
- On Windows and macOS every container engine runs a Linux VM: a container needs a Linux
  kernel.

Next: [11 · Hello World](11-hello-world-commands.ipynb), the first commands.
""", """
## Resumo

- Instalar o glassbox é `make setup` (ou `make lab`); o que ele consegue fazer depois é a
  resposta da máquina, que o `glassbox doctor` dá como um nível: full, rootless (limits),
  rootless, user-space.
- O rootless troca poder por segurança: o root do container é o seu próprio uid (o
  `/proc/<pid>/uid_map` dele mostra isso; como root ele é o uid 0, contido pelas capabilities
  removidas); limites precisam de um cgroup delegado, e as redes ficam num network namespace
  só seu, com `-p` em portas ≥ 1024.
- O Docker instala uma cadeia de serviços (dockerd → containerd → shim → runc); o glassbox
  não precisa de nenhum rodando: a biblioteca faz o fork de um shim por container, e o
  `glassbox daemon` fala a API do Docker quando um cliente Docker precisa (notebook 08).
- No Windows e no macOS todo engine de containers roda uma VM Linux: um container precisa
  de um kernel Linux.

Próximo: [11 · Hello World](11-hello-world-commands.ipynb), os comandos iniciais.
"""),
    *finish(),
]
