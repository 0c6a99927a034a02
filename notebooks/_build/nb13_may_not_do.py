from common import _pt, code, exercise, finish, gate, header, md, needs_md, notes_vs_kernel, setup

SLUG = "13-what-a-container-may-not-do"

PT = {
    "# the escape probe, alone in a folder we bind read-only into each container":
        "# a sonda de fuga, sozinha numa pasta que montamos somente leitura em cada container",
    "the probe is not built here (make setup builds it)": "a sonda não foi compilada aqui (o make setup a compila)",
    "(not in Docker's table)": "(fora da tabela do Docker)",
    "'attempt'": "'tentativa'", "'kernel answered'": "'o kernel respondeu'", " stopped by\")": " barrado por\")",
    "guard(a.name) if a.blocked": "guard_pt(a.name) if a.blocked",
    "{a.verdict + ': ' + a.detail:<44}": "{VERDICT_PT.get(a.verdict, a.verdict) + ': ' + a.detail:<44}",
    "capabilities held": "capabilities que tem", "missing inside": "faltam dentro",
    "seccomp mode": "modo seccomp", "(0 off, 2 filter)": "(0 desligado, 2 filtro)",
    "'a container'": "'um container'", "'the host'": "'o host'",
    "bytes of /proc/timer_list": "bytes de /proc/timer_list",
    "opened by": "abertas por", "\"nothing\"": "\"nada\"",
    "the kernel opened what you did not predict": "o kernel abriu o que você não previu",
    "you predicted": "você previu",
    "no prediction for": "sem previsão para",
    "probe lines (green: blocked, red: allowed)": "linhas da sonda (verde: barrada, vermelho: passou)",
    "ip addr add in a default container": "ip addr add num container padrão",
    "exists on the host?": "existe no host?",
    "gbx-probe in a fresh `glassbox run --rm ... FLAGS busybox`: {name: Attempt}.":
        "gbx-probe num `glassbox run --rm ... FLAGS busybox` novo: {nome: Attempt}.",
    "Which mechanism refuses this attempt (Docker's table, glassbox.probe.expected).":
        "Qual mecanismo recusa esta tentativa (a tabela do Docker, glassbox.probe.expected).",
    "CapEff, Seccomp and NoNewPrivs of a fresh container's process (FLAGS for `run`).":
        "CapEff, Seccomp e NoNewPrivs do processo de um container novo (FLAGS para o `run`).",
    "The capability names set in a CapEff hex mask.": "Os nomes das capabilities ligadas numa máscara CapEff em hexadecimal.",
}
"""The printed words of this notebook's code cells, in Portuguese."""

GUARD_PT = '''
GUARD_PT = {  # the guard column in Portuguese
    "devices cgroup (mknod allowed, open refused)": "cgroup de dispositivos (mknod permitido, open recusado)",
    "capability (no CAP_SYS_ADMIN)": "capability (sem CAP_SYS_ADMIN)",
    "every fd above 2 closed before execve": "todo fd acima de 2 fechado antes do execve",
    "capability (no CAP_SYS_TIME)": "capability (sem CAP_SYS_TIME)",
    "capability (no CAP_SYS_BOOT)": "capability (sem CAP_SYS_BOOT)",
    "capability (no CAP_SYS_MODULE)": "capability (sem CAP_SYS_MODULE)",
    "read-only bind (/proc/sysrq-trigger)": "bind somente leitura (/proc/sysrq-trigger)",
    "read-only bind (/proc/sys)": "bind somente leitura (/proc/sys)",
    "read-only /sys": "/sys somente leitura",
    "masked (/dev/null over /proc/kcore)": "mascarado (/dev/null sobre /proc/kcore)",
    "same container, same credentials": "mesmo container, mesmas credenciais",
    "host-side processes non-dumpable until execve": "processos do lado do host não-dumpable até o execve"}


VERDICT_PT = {"blocked": "barrado", "allowed": "passou"}


def guard_pt(name):
    g = guard(name)
    return GUARD_PT.get(g, g)
'''


def pcode(src: str, extra_pt: str = ""):
    """A code cell whose printed words are translated with PT (``extra_pt``: code appended in pt-BR)."""
    src = src.strip("\n")
    return code(src, _pt(src, PT) + ("\n" + extra_pt.rstrip("\n") if extra_pt else ""))


PROBE_CELL = '''
from glassbox import probe
from glassbox.probe.expected import DOCKER_DEFAULT
from glassbox._sys.constants import CAPS

# the escape probe, alone in a folder we bind read-only into each container
PROBE_DIR = tempfile.mkdtemp(prefix=P + "-probe-")
built = probe.binary() or probe.build()
if built:
    shutil.copy2(built, os.path.join(PROBE_DIR, "gbx-probe"))
else:
    print("the probe is not built here (make setup builds it)")


def run_probe(*flags):
    """gbx-probe in a fresh `glassbox run --rm ... FLAGS busybox`: {name: Attempt}."""
    p = subprocess.run([GB, "run", "--rm", "-v", PROBE_DIR + ":/gbx-probe:ro", *flags, "busybox",
                        "/gbx-probe/gbx-probe"], capture_output=True, text=True)
    return probe.parse(p.stdout)


def guard(name):
    """Which mechanism refuses this attempt (Docker's table, glassbox.probe.expected)."""
    want = DOCKER_DEFAULT.get(name)
    return want.guard if want else "(not in Docker's table)"


def show(table):
    print(f"{'attempt':<16} {'kernel answered':<44} stopped by")
    for a in table.values():
        if a.verdict in ("blocked", "allowed"):
            print(f"{a.name:<16} {a.verdict + ': ' + a.detail:<44} {guard(a.name) if a.blocked else ''}")
'''

CELLS = [
    *header(
        13, "What a container may not do", "O que um container não pode fazer",
        ["Run an escape probe as a container's root and read, line by line, which kernel "
         "mechanism refused each attempt.",
         "Read a process's capabilities and seccomp mode from `/proc/self/status` and decode "
         "the capability mask.",
         "Turn one guard off at a time (`--cap-add`, `--security-opt seccomp=unconfined`, "
         "`--device`, `--privileged`): predict, then see what opens.",
         "Grant one power with the least privilege: a single `--cap-add`."],
        ["Rodar uma sonda de fuga como root de um container e ler, linha a linha, qual "
         "mecanismo do kernel recusou cada tentativa.",
         "Ler as capabilities e o modo seccomp de um processo em `/proc/self/status` e "
         "decodificar a máscara de capabilities.",
         "Desligar uma proteção de cada vez (`--cap-add`, `--security-opt seccomp=unconfined`, "
         "`--device`, `--privileged`): prever e depois ver o que se abre.",
         "Conceder um poder com o menor privilégio: um único `--cap-add`."],
        ["probe", "seccomp", "runtime"],
        quote_pt="""
Quando falamos de CONTAINER, estamos falando de processos - e seus processos filhos - em
namespaces que isolam estes processos emulando um sistema operacional.
""",
        quote_en="""
When we speak of a CONTAINER, we are speaking of processes — and their child processes — in
namespaces that isolate these processes, emulating an operating system.
"""),
    *setup("nb13"),
    md("""
## The escape probe

`gbx-probe` is a small static C program (built by `make setup`; source in
`engine/glassbox/probe/gbx-probe.c`). Run as the container's root, it tries what a
container must not do to its host — open the host's disk, load a kernel module, mount,
write `/proc/sys`, make a user namespace, … — each time with arguments the kernel rejects
only *after* its permission checks, so nothing is ever changed. One line per attempt: what
was tried, `blocked` or `allowed`, and what the kernel answered.

`glassbox.probe.expected` holds Docker's answer for each line and **which guard** gives it.
The table joins the two: the kernel's own words, and the mechanism behind them.
""", """
## A sonda de fuga

`gbx-probe` é um pequeno programa C estático (compilado pelo `make setup`; fonte em
`engine/glassbox/probe/gbx-probe.c`). Rodando como root do container, ele tenta o que um
container não pode fazer ao host — abrir o disco do host, carregar um módulo do kernel,
montar, escrever em `/proc/sys`, criar um user namespace, … — sempre com argumentos que o
kernel só rejeita *depois* das verificações de permissão, então nada é alterado de fato.
Uma linha por tentativa: o que foi tentado, `blocked` (barrado) ou `allowed` (passou) e o
que o kernel respondeu.

`glassbox.probe.expected` guarda a resposta do Docker para cada linha e **qual proteção** a
dá. A tabela junta as duas coisas: as palavras do próprio kernel e o mecanismo por trás delas.
"""),
    pcode(PROBE_CELL + "\n\ndefault = run_probe()\nshow(default)",
          extra_pt=""),
    md("""
How to read the kernel's answers:

| the kernel said | on | the guard |
| --- | --- | --- |
| `EPERM` on `open c 10:229` | a device node | the **devices cgroup**: `mknod` is allowed (as in Docker), opening is not |
| `EPERM` on `mount`, `unshare(CLONE_NEWNET)`, `kexec_load`, `init_module`, `clock_adjtime` | a privileged call | a **capability** the container does not hold |
| `EPERM` on `add_key`, `bpf`, `userfaultfd`, `personality`, `unshare(CLONE_NEWUSER)` | calls a capability-less root *may* make | only the **seccomp filter**: that is why Docker ships one |
| `EROFS` | `/proc/sys`, `/sys` | a **read-only mount** |
| an empty file | `/proc/kcore`, `/proc/timer_list` | a **masked path** (`/dev/null` bound over it) |
| `EINVAL`, `EFAULT`, `ok` | — | **allowed**: the call got through every guard (harmlessly) |
""", """
Como ler as respostas do kernel:

| o kernel disse | em | a proteção |
| --- | --- | --- |
| `EPERM` em `open c 10:229` | um nó de dispositivo | o **cgroup de dispositivos**: o `mknod` é permitido (como no Docker), abrir não |
| `EPERM` em `mount`, `unshare(CLONE_NEWNET)`, `kexec_load`, `init_module`, `clock_adjtime` | uma chamada privilegiada | uma **capability** que o container não tem |
| `EPERM` em `add_key`, `bpf`, `userfaultfd`, `personality`, `unshare(CLONE_NEWUSER)` | chamadas que um root sem capabilities *pode* fazer | só o **filtro seccomp**: é por isso que o Docker traz um |
| `EROFS` | `/proc/sys`, `/sys` | uma **montagem somente leitura** |
| um arquivo vazio | `/proc/kcore`, `/proc/timer_list` | um **caminho mascarado** (`/dev/null` montado por cima) |
| `EINVAL`, `EFAULT`, `ok` | — | **passou**: a chamada atravessou todas as proteções (sem causar dano) |
"""),
    md("""
## Root inside, but not all of root: `/proc/self/status`

Every process's credentials are in `/proc/self/status`. `CapEff` is the set of
**capabilities** the kernel checks — the 41 pieces root's power is cut into — as a hex
bit mask; `Seccomp: 2` means a filter is installed; `NoNewPrivs: 1` means no setuid binary
can ever give more back. Decode the mask: bit *n* set = capability *n* held.
""", """
## Root dentro, mas não o root inteiro: `/proc/self/status`

As credenciais de todo processo estão em `/proc/self/status`. `CapEff` é o conjunto de
**capabilities** que o kernel verifica — os 41 pedaços em que o poder do root é dividido —
como uma máscara de bits em hexadecimal; `Seccomp: 2` quer dizer que há um filtro
instalado; `NoNewPrivs: 1` quer dizer que nenhum binário setuid pode devolver mais poder.
Decodifique a máscara: bit *n* ligado = capability *n* presente.
"""),
    pcode('''
def status(*flags):
    """CapEff, Seccomp and NoNewPrivs of a fresh container's process (FLAGS for `run`)."""
    out = subprocess.run([GB, "run", "--rm", *flags, "busybox", "cat", "/proc/self/status"],
                         capture_output=True, text=True).stdout
    return dict(ln.split(":\\t", 1) for ln in out.splitlines() if ln.startswith(("CapEff", "Seccomp", "NoNewPrivs")))


def decode(mask):
    """The capability names set in a CapEff hex mask."""
    bits = int(mask, 16)
    return [name[4:] for n, name in enumerate(CAPS) if bits >> n & 1]


inside = status()
host = dict(ln.split(":\\t", 1) for ln in open("/proc/self/status").read().splitlines() if ln.startswith("CapEff"))
print("CapEff", inside["CapEff"], "·", "seccomp mode", inside["Seccomp"], "(0 off, 2 filter)", "· NoNewPrivs", inside["NoNewPrivs"])
print(len(decode(inside["CapEff"])), "capabilities held:", " ".join(decode(inside["CapEff"])))
missing = sorted(set(decode(host["CapEff"])) - set(decode(inside["CapEff"])))
print(len(missing), "missing inside:", " ".join(missing))
'''),
    md("""
Masked paths are the quietest guard: the file is there, and empty. The host's
`/proc/timer_list` tells about every timer of the machine; the container's is `/dev/null`:
""", """
Os caminhos mascarados são a proteção mais discreta: o arquivo está lá, e vazio. O
`/proc/timer_list` do host conta sobre todo timer da máquina; o do container é `/dev/null`:
"""),
    pcode('''
in_container = subprocess.run([GB, "run", "--rm", "busybox", "wc", "-c", "/proc/timer_list"], capture_output=True, text=True).stdout.split()[:1]
print(f"{'the host':<12}", len(open("/proc/timer_list").read()) if os.path.exists("/proc/timer_list") else "-", "bytes of /proc/timer_list")
print(f"{'a container':<12}", in_container[0] if in_container else "-", "bytes of /proc/timer_list")
'''),
    md("""
A guard before the container even exists: the **image** may be hostile. A layer is a tar
file, and a tar member may be named `../../../../tmp/owned`, which a careless extractor
writes *outside* the layer, on the host. glassbox's extractor refuses such a member by name
(and keeps symlinks from leading it out):
""", """
Uma proteção antes mesmo de o container existir: a **imagem** pode ser hostil. Uma camada é
um arquivo tar, e um membro do tar pode se chamar `../../../../tmp/owned`, que um extrator
descuidado escreveria *fora* da camada, no host. O extrator do glassbox recusa esse membro
pelo nome (e não deixa symlinks o levarem para fora):
"""),
    pcode('''
import io, tarfile
target = os.path.join(tempfile.gettempdir(), P + "-owned")
hostile = os.path.join(PROBE_DIR, "hostile.tar")
with tarfile.open(hostile, "w") as t:
    member = tarfile.TarInfo("../../../../../../.." + target); member.size = 6
    t.addfile(member, io.BytesIO(b"owned\\n"))
p = subprocess.run([GB, "import", hostile, P + "-hostile"], capture_output=True, text=True)
print(p.stderr.strip())
print(target, "exists on the host?", os.path.exists(target))
'''),
    needs_md("root", """
## One guard off at a time: predict first

(Rootless, `--device` and `--privileged` cannot open the host's devices or lift guards the
host's root holds: the two cells that run the probe and draw it need the full tier.)

Four runs of the same probe, each with one guard lifted:

- `--cap-add SYS_ADMIN` — one capability more (the "new root": mount, namespaces, …);
- `--security-opt seccomp=unconfined` — no seccomp filter, capabilities unchanged;
- `--device /dev/fuse` — one device node allowed by the devices cgroup;
- `--privileged` — all of it: every capability, no filter, every device, `/proc/sys` and
  `/sys` writable.

**Predict** before you run the next cell: which probe lines open under each? Write the
names in `predict` (any you like; the cell only compares, it does not grade).
""", """
## Uma proteção desligada de cada vez: preveja antes

(No rootless, `--device` e `--privileged` não abrem os dispositivos do host nem tiram
proteções que são do root do host: as duas células que rodam a sonda e a desenham precisam
do nível full.)

Quatro execuções da mesma sonda, cada uma com uma proteção a menos:

- `--cap-add SYS_ADMIN` — uma capability a mais (o "novo root": mount, namespaces, …);
- `--security-opt seccomp=unconfined` — sem filtro seccomp, as mesmas capabilities;
- `--device /dev/fuse` — um nó de dispositivo liberado pelo cgroup de dispositivos;
- `--privileged` — tudo isso: todas as capabilities, nenhum filtro, todos os
  dispositivos, `/proc/sys` e `/sys` graváveis.

**Preveja** antes de rodar a próxima célula: quais linhas da sonda se abrem em cada caso?
Escreva os nomes em `predict` (quantos quiser; a célula só compara, não dá nota).
"""),
    code('''
predict = {
    "--cap-add SYS_ADMIN": {"mount"},
    "--security-opt seccomp=unconfined": set(),
    "--device /dev/fuse": set(),
    "--privileged": set(),
}
'''),
    pcode('''
tables = {"default": default}
for flags in predict:
    tables[flags] = run_probe(*flags.split())
for flags, want in predict.items():
    opened = sorted(n for n, a in tables[flags].items() if a.verdict == "allowed" and default[n].blocked)
    print(f"{flags:<36} opened by {len(opened):>2}:", " ".join(opened) or "nothing")
    print(f"{'':<36} you predicted: {' '.join(sorted(want)) or '-'} · the kernel opened what you did not predict: {' '.join(sorted(set(opened) - set(want))) or '-'}")
'''),
    md("""
The same, as a picture — one row per attempt, one column per run; green is blocked:
""", """
O mesmo, como figura — uma linha por tentativa, uma coluna por execução; verde é barrado:
"""),
    pcode('''
import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap
names = [n for n, a in default.items() if a.verdict in ("blocked", "allowed")]
grid = [[{"blocked": 0, "allowed": 1}.get(t[n].verdict if n in t else "", 0.5) for t in tables.values()] for n in names]
fig, ax = plt.subplots(figsize=(7.5, 8))
ax.imshow(grid, cmap=ListedColormap(["#66bb6a", "#bdbdbd", "#e57373"]), vmin=0, vmax=1, aspect="auto")
ax.set_yticks(range(len(names)), names, fontsize=8)
ax.set_xticks(range(len(tables)), [f.replace(" ", "\\n", 1) for f in tables], fontsize=7)
ax.set_title("probe lines (green: blocked, red: allowed)", fontsize=10)
fig.tight_layout(); plt.show()
'''),
    md("""
What to notice:

- **seccomp=unconfined** opens exactly the lines whose guard is `seccomp` — `add_key`,
  `bpf`, `userfaultfd`, `personality`, a user namespace … — and nothing that a capability,
  a mount or the devices cgroup guards. The guard column is verified, not asserted.
- **SYS_ADMIN** opens `mount`, `netns` — and, because Docker's filter is capability-aware,
  some of the seccomp lines too (`bpf`, `perf_event_open`). One capability is rarely "just
  one thing": SYS_ADMIN is the catch-all.
- **--device /dev/fuse** opens one line, `fuse`: the devices cgroup is a list of
  `major:minor` numbers.
- **--privileged** opens almost everything. `kexec_load`/`init_module` stay "blocked" only
  because this kernel answers `ENOSYS`. A privileged container is not a sandbox: treat it
  as root on the host.
""", """
O que observar:

- **seccomp=unconfined** abre exatamente as linhas cuja proteção é `seccomp` — `add_key`,
  `bpf`, `userfaultfd`, `personality`, um user namespace … — e nada do que uma capability,
  uma montagem ou o cgroup de dispositivos protege. A coluna das proteções é verificada,
  não apenas afirmada.
- **SYS_ADMIN** abre `mount`, `netns` — e, como o filtro do Docker leva as capabilities em
  conta, algumas linhas do seccomp também (`bpf`, `perf_event_open`). Uma capability
  raramente é "uma coisa só": SYS_ADMIN é o saco de gatos.
- **--device /dev/fuse** abre uma linha, `fuse`: o cgroup de dispositivos é uma lista de
  números `major:minor`.
- **--privileged** abre quase tudo. `kexec_load`/`init_module` continuam "barrados" só
  porque este kernel responde `ENOSYS`. Um container privilegiado não é uma caixa de
  areia: trate-o como root no host.
"""),
    notes_vs_kernel(
        "a container is processes in namespaces that *isolate* them, emulating an operating "
        "system.",
        "Namespaces only decide what a process **sees**: its own pids, mounts, network, "
        "hostname. They do not stop a root process from asking the one shared kernel for "
        "anything — loading a module, opening the host's disk, changing the clock. Isolation "
        "is several guards stacked: **dropped capabilities**, a **seccomp filter**, the "
        "**devices cgroup**, **read-only and masked paths**, `no_new_privs` — the table above "
        "names which one said no. Some things have no namespace at all: the wall clock is "
        "one for the whole machine (the `time` namespace covers only the monotonic and boot "
        "clocks), so `--cap-add SYS_TIME` with `date -s` would change the **host's** time "
        "for every container and user. Do not try it on a shared machine.",
        "um container é um conjunto de processos em namespaces que os *isolam*, emulando um "
        "sistema operacional.",
        "Os namespaces só decidem o que um processo **vê**: os próprios pids, montagens, rede, "
        "hostname. Eles não impedem um processo root de pedir qualquer coisa ao único kernel "
        "compartilhado — carregar um módulo, abrir o disco do host, mudar o relógio. O "
        "isolamento são várias proteções empilhadas: **capabilities removidas**, um **filtro "
        "seccomp**, o **cgroup de dispositivos**, **caminhos somente leitura e mascarados**, "
        "`no_new_privs` — a tabela acima diz qual delas recusou. Algumas coisas nem têm "
        "namespace: o relógio de parede é um só para a máquina inteira (o namespace `time` "
        "cobre só os relógios monotônico e de boot), então `--cap-add SYS_TIME` com `date -s` "
        "mudaria a hora **do host** para todos os containers e usuários. Não tente isso numa "
        "máquina compartilhada."),
    md("""
A power that *is* namespaced is safe to grant: `CAP_NET_ADMIN` over the container's **own**
network namespace changes only the container's interfaces. Without it, even adding an
address to the container's own `lo` is refused:
""", """
Um poder que *tem* namespace é seguro de conceder: `CAP_NET_ADMIN` sobre o namespace de rede
**do próprio** container muda só as interfaces do container. Sem ela, até acrescentar um
endereço ao `lo` do próprio container é recusado:
"""),
    pcode('''
p = subprocess.run([GB, "run", "--rm", "busybox", "ip", "addr", "add", "10.13.13.13/32", "dev", "lo"], capture_output=True, text=True)
print("ip addr add in a default container:", p.stderr.strip(), f"(exit {p.returncode})")
'''),
    *exercise(
        "**Least privilege.** Make a container that may add an address to its own network "
        "interfaces, and nothing more: a detached container named `nb13-net`, running "
        "`sleep 3600`, with the probe bound in (`-v {PROBE_DIR}:/gbx-probe:ro`), given **one** "
        "capability with a single `--cap-add` (no `--privileged`, seccomp left on). The check "
        "reads the container's `inspect`, decodes the `CapEff` of its process from "
        "`/proc/<pid>/status`, adds `10.13.13.13/32` to its `lo` with `exec`, and runs the "
        "probe inside: every line blocked by default must still be blocked.",
        "**Menor privilégio.** Faça um container que possa acrescentar um endereço às próprias "
        "interfaces de rede, e nada mais: um container em segundo plano chamado `nb13-net`, "
        "rodando `sleep 3600`, com a sonda montada (`-v {PROBE_DIR}:/gbx-probe:ro`), com "
        "**uma** capability a mais, num único `--cap-add` (sem `--privileged`, seccomp ligado). "
        "A verificação lê o `inspect` do container, decodifica o `CapEff` do processo dele em "
        "`/proc/<pid>/status`, acrescenta `10.13.13.13/32` ao `lo` dele com `exec` e roda a "
        "sonda lá dentro: toda linha barrada por padrão precisa continuar barrada.",
        attempt='''
# your command here, e.g. !{GB} run -d --name {P}-net ... busybox sleep 3600
''',
        check_fn='''
def check_13():
    """Live state: inspect, the process's CapEff, an exec'd `ip addr add`, the probe inside."""
    try:
        c = eng.containers.get(P + "-net")
    except NotFound:
        return check(False, "", f"no container {P}-net: !{{GB}} run -d --name {P}-net --cap-add ... -v {{PROBE_DIR}}:/gbx-probe:ro busybox sleep 3600")
    if not c.running:
        return check(False, "", f"{P}-net is {c.status}: it must keep running (sleep 3600, -d)")
    hc = c.inspect()["HostConfig"]
    if hc.get("Privileged") or any("unconfined" in o for o in hc.get("SecurityOpt") or []):
        return check(False, "", f"{P}-net is privileged or unconfined: that lifts every guard, not one")
    held = decode(dict(ln.split(":\\t", 1) for ln in open(f"/proc/{c.pid}/status").read().splitlines())["CapEff"])
    extra = sorted(set(held) - set(decode(inside["CapEff"])))
    if extra != ["NET_ADMIN"]:
        return check(False, "", f"the process holds {len(extra)} capabilities beyond the default ({' '.join(extra) or 'none'}): "
                     "exactly one is needed to change its own interfaces — which one administers the network?")
    ip = subprocess.run([GB, "exec", c.id, "ip", "addr", "add", "10.13.13.13/32", "dev", "lo"], capture_output=True, text=True)
    if ip.returncode != 0 and "File exists" not in ip.stderr:
        return check(False, "", f"ip addr add failed in {P}-net: {ip.stderr.strip()}")
    pr = subprocess.run([GB, "exec", c.id, "/gbx-probe/gbx-probe"], capture_output=True, text=True)
    if pr.returncode != 0 or not pr.stdout:
        return check(False, "", f"the probe does not run in {P}-net ({pr.stderr.strip()[:80]}): bind it with -v {PROBE_DIR}:/gbx-probe:ro")
    inner = probe.parse(pr.stdout)
    opened = [n for n, a in default.items() if a.blocked and n in inner and inner[n].verdict == "allowed"]
    check(not opened, f"{P}-net holds the default set + NET_ADMIN, added 10.13.13.13 to its own lo, and every "
          f"probe line is still blocked: least privilege", f"these probe lines opened in {P}-net: {' '.join(opened)}")
check_13()
''', check_fn_pt='''
def check_13():
    """Estado ao vivo: inspect, o CapEff do processo, um `ip addr add` via exec, a sonda lá dentro."""
    try:
        c = eng.containers.get(P + "-net")
    except NotFound:
        return check(False, "", f"não há container {P}-net: !{{GB}} run -d --name {P}-net --cap-add ... -v {{PROBE_DIR}}:/gbx-probe:ro busybox sleep 3600")
    if not c.running:
        return check(False, "", f"{P}-net está {c.status}: ele precisa continuar rodando (sleep 3600, -d)")
    hc = c.inspect()["HostConfig"]
    if hc.get("Privileged") or any("unconfined" in o for o in hc.get("SecurityOpt") or []):
        return check(False, "", f"{P}-net é privilegiado ou unconfined: isso tira todas as proteções, não uma")
    held = decode(dict(ln.split(":\\t", 1) for ln in open(f"/proc/{c.pid}/status").read().splitlines())["CapEff"])
    extra = sorted(set(held) - set(decode(inside["CapEff"])))
    if extra != ["NET_ADMIN"]:
        return check(False, "", f"o processo tem {len(extra)} capabilities além das padrão ({' '.join(extra) or 'nenhuma'}): "
                     "basta exatamente uma para mudar as próprias interfaces — qual administra a rede?")
    ip = subprocess.run([GB, "exec", c.id, "ip", "addr", "add", "10.13.13.13/32", "dev", "lo"], capture_output=True, text=True)
    if ip.returncode != 0 and "File exists" not in ip.stderr:
        return check(False, "", f"o ip addr add falhou no {P}-net: {ip.stderr.strip()}")
    pr = subprocess.run([GB, "exec", c.id, "/gbx-probe/gbx-probe"], capture_output=True, text=True)
    if pr.returncode != 0 or not pr.stdout:
        return check(False, "", f"a sonda não roda no {P}-net ({pr.stderr.strip()[:80]}): monte-a com -v {PROBE_DIR}:/gbx-probe:ro")
    inner = probe.parse(pr.stdout)
    opened = [n for n, a in default.items() if a.blocked and n in inner and inner[n].verdict == "allowed"]
    check(not opened, f"{P}-net tem o conjunto padrão + NET_ADMIN, acrescentou 10.13.13.13 ao próprio lo e toda "
          f"linha da sonda continua barrada: menor privilégio", f"estas linhas da sonda se abriram no {P}-net: {' '.join(opened)}")
check_13()
''',
        solution='''
!{GB} run -d --name {P}-net --cap-add NET_ADMIN -v {PROBE_DIR}:/gbx-probe:ro busybox sleep 3600
check_13()
'''),
    md("""
## Summary

- Namespaces decide what a container **sees**; what it may **do** to the shared kernel is
  decided by other guards: dropped capabilities, the seccomp filter, the devices cgroup,
  read-only and masked paths, `no_new_privs`.
- The kernel's answer tells which guard spoke: `EPERM` on a privileged call is a missing
  capability, `EPERM` on a call any root may make is seccomp, `EPERM` on opening a device
  is the devices cgroup, `EROFS` a read-only mount, an empty file a mask.
- Each flag lifts one guard; `--privileged` lifts them all. Grant the least: one
  `--cap-add`, and preferably a power that is namespaced (`NET_ADMIN` over the container's
  own network), never one that is not (the clock).

Next: [14 · final project](14-final-project.ipynb), everything together — or back to the
[course index](../README.md).
""", """
## Resumo

- Os namespaces decidem o que um container **vê**; o que ele pode **fazer** ao kernel
  compartilhado é decidido por outras proteções: capabilities removidas, o filtro seccomp,
  o cgroup de dispositivos, caminhos somente leitura e mascarados, `no_new_privs`.
- A resposta do kernel diz qual proteção falou: `EPERM` numa chamada privilegiada é uma
  capability que falta, `EPERM` numa chamada que qualquer root pode fazer é o seccomp,
  `EPERM` ao abrir um dispositivo é o cgroup de dispositivos, `EROFS` uma montagem somente
  leitura, um arquivo vazio uma máscara.
- Cada flag tira uma proteção; `--privileged` tira todas. Conceda o mínimo: um
  `--cap-add`, e de preferência um poder que tenha namespace (`NET_ADMIN` sobre a própria
  rede do container), nunca um que não tenha (o relógio).

Próximo: [14 · projeto final](14-final-project.ipynb), tudo junto — ou volte ao
[índice do curso](../README.md).
"""),
    *finish(extra_code="shutil.rmtree(PROBE_DIR)"),
]

# the probe table's guard column in Portuguese (the pt-BR cell defines guard_pt after guard)
_i = next(i for i, c in enumerate(CELLS) if c[0] == "code" and "def run_probe" in c[1])
CELLS[_i] = ("code", CELLS[_i][1], CELLS[_i][2].replace("\n\ndefault = run_probe()",
                                                        "\n" + GUARD_PT.rstrip("\n") + "\n\ndefault = run_probe()"))

CELLS = gate(CELLS, "root", 'tables = {"default": default}', "from matplotlib.colors import ListedColormap")
"""The runs with --device and --privileged (and their picture) need the host's root."""
