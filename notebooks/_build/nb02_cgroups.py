from common import code, exercise, finish, gate, header, md, notes_vs_kernel, setup, summary

SLUG = "02-cgroups"

CELLS = [
    *header(
        2, "cgroups: limiting what a container may use", "Cgroups: limitando o que um container pode usar",
        ["Find a container's cgroup and read its limit files.",
         "Memory: allocate until the limit, watch it live, see the OOM kill (exit 137).",
         "CPU: a quota (`--cpus`) is a ceiling; a real competition is `--cpu-shares` on one CPU.",
         "PIDs: a fork bomb contained by `--pids-limit`.",
         "Change limits while the container runs (`update`, sliders)."],
        ["Encontrar o cgroup de um container e ler os arquivos de limite.",
         "Memória: alocar até o limite, acompanhar ao vivo, ver o OOM kill (saída 137).",
         "CPU: uma cota (`--cpus`) é um teto; uma competição de verdade é `--cpu-shares` numa só CPU.",
         "PIDs: uma fork bomb contida pelo `--pids-limit`.",
         "Mudar limites com o container rodando (`update`, sliders)."],
        ["cgroups"],
        quote_pt="""
Cgroups controlam os recursos computacionais do container. [...] o Cgroup irá delimitar os
recursos destes processos, ou seja, determinar que um determinado processo venha a consumir
um tanto de memória, de cpu, o que acaba **não interferindo [em] outros processos**.
""",
        quote_en="""
Cgroups control the computing resources of the container. [...] the cgroup delimits the
resources of these processes, that is, it sets how much memory and CPU a given process may
consume, so that it ends up **not interfering with other processes**.
"""),
    notes_vs_kernel(
        "\"Cgroups — created and maintained by Google\" (elided above as [...]).",
        "They started at Google in 2006 (Paul Menage and Rohit Seth, first called *process "
        "containers*) and were merged into Linux 2.6.24 (January 2008); since then the kernel "
        "community maintains them. cgroup v2 (Tejun Heo) became stable in Linux 4.5 (2016). "
        "The cell below asks this kernel which version it mounts.",
        "\"Cgroups — criado e mantido pela Google\" (o trecho omitido acima com [...]).",
        "Começaram no Google em 2006 (Paul Menage e Rohit Seth, com o nome de *process "
        "containers*) e entraram no Linux 2.6.24 (janeiro de 2008); desde então quem os mantém "
        "é a comunidade do kernel. O cgroup v2 (Tejun Heo) ficou estável no Linux 4.5 (2016). "
        "A célula abaixo pergunta a este kernel qual versão ele monta."),
    *setup("nb02"),
    code('''
%matplotlib inline
import matplotlib.pyplot as plt
from glassbox.cgroups import detect_version
from glassbox.cgroups.stats import cpu_percent
MiB = 1 << 20

def stats(cid):
    """One reading of the container's cgroup (eng.containers.stats), None once it is gone."""
    try:
        return eng.containers.stats(cid)
    except NotFound:          # it exited this instant: the cgroup was just removed
        return None

print("cgroup version on this machine:", detect_version())
''', '''
%matplotlib inline
import matplotlib.pyplot as plt
from glassbox.cgroups import detect_version
from glassbox.cgroups.stats import cpu_percent
MiB = 1 << 20

def stats(cid):
    """Uma leitura do cgroup do container (eng.containers.stats), None quando ele já não existe."""
    try:
        return eng.containers.stats(cid)
    except NotFound:          # ele terminou neste instante: o cgroup acabou de ser removido
        return None

print("versão do cgroup nesta máquina:", detect_version())
'''),
    md("""
## Where is a container's cgroup?

A cgroup is a directory in the cgroup file system; its files *are* the limits and the
counters. glassbox makes one per container (named by the container id, under
`GLASSBOX_CGROUP_PARENT`). `paths()` gives the directory of each controller (cgroups v1:
one tree per controller; v2: one unified tree).
""", """
## Onde fica o cgroup de um container?

Um cgroup é um diretório no sistema de arquivos de cgroups; os arquivos dele *são* os
limites e os contadores. O glassbox cria um por container (com o id do container, abaixo
de `GLASSBOX_CGROUP_PARENT`). `paths()` dá o diretório de cada controlador (cgroups v1: uma
árvore por controlador; v2: uma árvore unificada).
"""),
    code('''
eng.run("busybox", ["sleep", "600"], name=P + "-idle", detach=True,
        memory=64 * MiB, cpus=0.5, pids_limit=50)
idle = eng.containers.get(P + "-idle")
paths = eng.containers._cgroup(idle).paths()
for controller, path in paths.items():
    print(f"{controller:8} {path}")
print("\\n/proc/<pid>/cgroup of the container's process:")
!cat /proc/{idle.pid}/cgroup
''', '''
eng.run("busybox", ["sleep", "600"], name=P + "-idle", detach=True,
        memory=64 * MiB, cpus=0.5, pids_limit=50)
idle = eng.containers.get(P + "-idle")
paths = eng.containers._cgroup(idle).paths()
for controller, path in paths.items():
    print(f"{controller:8} {path}")
print("\\n/proc/<pid>/cgroup do processo do container:")
!cat /proc/{idle.pid}/cgroup
'''),
    md("""
`-m 64m --cpus 0.5 --pids-limit 50` became these files. Memory and CPU have other names
on v2 (`memory.max`, `cpu.max`); the pids controller's `pids.max` and `pids.current` are the
same in v1 and v2. `memory.memsw.limit_in_bytes` (v1) is memory *plus* swap, while v2's
`memory.swap.max` is swap *only*. `--cpus 0.5` is a quota: 50 ms of CPU per 100 ms period.
""", """
`-m 64m --cpus 0.5 --pids-limit 50` se transformou nestes arquivos. Memória e CPU têm
outros nomes no v2 (`memory.max`, `cpu.max`); já `pids.max` e `pids.current`, do
controlador de pids, têm o mesmo nome no v1 e no v2. `memory.memsw.limit_in_bytes` (v1) é
memória *mais* swap, enquanto `memory.swap.max` do v2 é *só* swap. `--cpus 0.5` é uma cota:
50 ms de CPU a cada período de 100 ms.
"""),
    code('''
FILES = ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.usage_in_bytes",
         "memory.max", "memory.swap.max", "memory.current", "cpu.cfs_quota_us",
         "cpu.cfs_period_us", "cpu.max", "pids.max", "pids.current", "cgroup.procs"]

def show_limits(paths):
    for d in dict.fromkeys(paths.values()):
        print(d)
        for f in FILES:
            p = os.path.join(d, f)
            if os.path.exists(p):
                print(f"    {f:30} {open(p).read().strip()}")

show_limits(paths)
'''),
    md("""
## Memory: allocate until the limit

A shell that grows a string by 1 MiB every 0.1 s, in a container with
`-m 32m --memory-swap 32m` (no swap on top). We sample its cgroup (`eng.containers.stats`,
what `glassbox stats` shows) until the kernel's OOM killer ends it.
""", """
## Memória: alocar até o limite

Um shell que aumenta uma string em 1 MiB a cada 0,1 s, num container com
`-m 32m --memory-swap 32m` (sem swap adicional). Amostramos o cgroup dele
(`eng.containers.stats`, o que o `glassbox stats` mostra) até o OOM killer do kernel
encerrá-lo.
"""),
    code('''
ALLOC = """x=; while :; do x="$x$(head -c 1048576 /dev/zero | tr '\\\\0' a)"; sleep 0.1; done"""
hog = eng.run("busybox", ["sh", "-c", ALLOC], name=P + "-hog", detach=True,
              memory=32 * MiB, memory_swap=32 * MiB)
t0, t, mem = time.time(), [], []
while (s := stats(hog.id)) is not None and time.time() - t0 < 30:
    t.append(time.time() - t0)
    mem.append(s.memory_usage / MiB)
    time.sleep(0.05)
code_ = eng.containers.wait(hog.id)
# wait() returns as soon as the exit code is known; settled() also waits for the shim to
# record OOMKilled (it reads the cgroup's OOM counter just before removing the cgroup)
from glassbox.sampler import settled
state = settled(eng, hog.id).inspect()["State"]
print("exit code:", code_, "  OOMKilled:", state["OOMKilled"], "  samples:", len(t))
''', '''
ALLOC = """x=; while :; do x="$x$(head -c 1048576 /dev/zero | tr '\\\\0' a)"; sleep 0.1; done"""
hog = eng.run("busybox", ["sh", "-c", ALLOC], name=P + "-hog", detach=True,
              memory=32 * MiB, memory_swap=32 * MiB)
t0, t, mem = time.time(), [], []
while (s := stats(hog.id)) is not None and time.time() - t0 < 30:
    t.append(time.time() - t0)
    mem.append(s.memory_usage / MiB)
    time.sleep(0.05)
code_ = eng.containers.wait(hog.id)
# o wait() volta assim que o código de saída é conhecido; o settled() espera também o shim
# gravar o OOMKilled (ele lê o contador de OOM do cgroup logo antes de remover o cgroup)
from glassbox.sampler import settled
state = settled(eng, hog.id).inspect()["State"]
print("código de saída:", code_, "  OOMKilled:", state["OOMKilled"], "  amostras:", len(t))
'''),
    code('''
fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(t, mem, label="memory used (MiB)")
ax.axhline(32, color="red", ls="--", label="limit -m 32m")
ax.axvline(t[-1], color="black", ls=":", label=f"OOM kill → exit {code_}")
ax.set_xlabel("seconds"); ax.set_ylabel("MiB"); ax.legend(loc="upper left"); ax.set_title(P + "-hog")
plt.show()
''', '''
fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(t, mem, label="memória usada (MiB)")
ax.axhline(32, color="red", ls="--", label="limite -m 32m")
ax.axvline(t[-1], color="black", ls=":", label=f"OOM kill → saída {code_}")
ax.set_xlabel("segundos"); ax.set_ylabel("MiB"); ax.legend(loc="upper left"); ax.set_title(P + "-hog")
plt.show()
'''),
    md("""
Exit code 137 = 128 + 9: the process got `SIGKILL` from the kernel's OOM killer. Only this
cgroup was affected — the notebook (and everything else on the host) did not notice. That is
what the notes mean by **not interfering with other processes**.
""", """
Código de saída 137 = 128 + 9: o processo recebeu `SIGKILL` do OOM killer do kernel. Só
este cgroup foi afetado — o notebook (e todo o resto do host) nem percebeu. É isso que as
notas querem dizer com **não interferir em outros processos**.
"""),
    code('''
!{GB} inspect --format '{{{{.State.OOMKilled}}}} {{{{.State.ExitCode}}}}' {P}-hog
'''),
    md("""
## CPU: a quota is a ceiling

Two containers spin (`while :; do :; done`), one with `--cpus 0.2`, one with `--cpus 1.0`.
We read their CPU counters (`cpuacct.usage` / `cpu.stat`) every 0.25 s for 3 s: 100% = one
core. Each quota caps its own container, whatever the other one does: this machine has
two CPUs, so they do not even meet. That is a *ceiling*, not a competition.
""", """
## CPU: uma cota é um teto

Dois containers ficam presos num laço infinito (`while :; do :; done`), um com
`--cpus 0.2`, outro com `--cpus 1.0`. Lemos os contadores de CPU deles (`cpuacct.usage` /
`cpu.stat`) a cada 0,25 s por 3 s: 100% = um núcleo. Cada cota limita o seu próprio
container, faça o outro o que fizer: esta máquina tem duas CPUs, então eles nem se
encontram. Isso é um *teto*, não uma competição.
"""),
    code('''
SPIN = ["sh", "-c", "while :; do :; done"]
busy = {cpus: eng.run("busybox", SPIN, name=f"{P}-cpu{cpus}", detach=True, cpus=cpus).id
        for cpus in (0.2, 1.0)}
prev = {k: stats(i) for k, i in busy.items()}
t0, ts, pct = time.time(), [], {k: [] for k in busy}
while time.time() - t0 < 3:
    time.sleep(0.25)
    cur = {k: stats(i) for k, i in busy.items()}
    ts.append(time.time() - t0)
    for k in busy:
        pct[k].append(cpu_percent(prev[k], cur[k]))
    prev = cur
for k, v in pct.items():
    print(f"--cpus {k}: mean {sum(v) / len(v):5.1f}% of one core")
''', '''
SPIN = ["sh", "-c", "while :; do :; done"]
busy = {cpus: eng.run("busybox", SPIN, name=f"{P}-cpu{cpus}", detach=True, cpus=cpus).id
        for cpus in (0.2, 1.0)}
prev = {k: stats(i) for k, i in busy.items()}
t0, ts, pct = time.time(), [], {k: [] for k in busy}
while time.time() - t0 < 3:
    time.sleep(0.25)
    cur = {k: stats(i) for k, i in busy.items()}
    ts.append(time.time() - t0)
    for k in busy:
        pct[k].append(cpu_percent(prev[k], cur[k]))
    prev = cur
for k, v in pct.items():
    print(f"--cpus {k}: média de {sum(v) / len(v):5.1f}% de um núcleo")
'''),
    code('''
fig, ax = plt.subplots(figsize=(8, 3))
for k, v in pct.items():
    line, = ax.plot(ts, v, label=f"--cpus {k}")
    ax.axhline(k * 100, color=line.get_color(), ls="--", lw=0.8)
ax.set_xlabel("seconds"); ax.set_ylabel("CPU % (100 = one core)"); ax.legend(); ax.set_ylim(0, 120)
plt.show()
for i in busy.values():
    eng.containers.remove(i, force=True)
''', '''
fig, ax = plt.subplots(figsize=(8, 3))
for k, v in pct.items():
    line, = ax.plot(ts, v, label=f"--cpus {k}")
    ax.axhline(k * 100, color=line.get_color(), ls="--", lw=0.8)
ax.set_xlabel("segundos"); ax.set_ylabel("CPU % (100 = um núcleo)"); ax.legend(); ax.set_ylim(0, 120)
plt.show()
for i in busy.values():
    eng.containers.remove(i, force=True)
'''),
    md("""
## CPU: a real competition

Competition needs one CPU and two takers. `--cpu-shares` (v1 `cpu.shares`, v2 `cpu.weight`)
is a *relative weight*: it does nothing while the CPU is free, and splits it when it is
contended. `gj.experiment` runs two spinners **together**, both pinned to CPU 0
(`cpuset_cpus="0"`, Docker's `--cpuset-cpus`), with 512 and 1024 shares, for 4 s, and
measures each one's CPU time from its cgroup. Physics predicts 512 / (512 + 1024) = ⅓ and ⅔.
Notebook 12 does more of these experiments (predict first, then measure).
""", """
## CPU: uma competição de verdade

Para haver competição é preciso uma CPU e dois interessados. `--cpu-shares` (`cpu.shares`
no v1, `cpu.weight` no v2) é um *peso relativo*: não faz nada enquanto a CPU está livre e a
divide quando há disputa. O `gj.experiment` roda dois laços **juntos**, os dois presos à
CPU 0 (`cpuset_cpus="0"`, o `--cpuset-cpus` do Docker), com 512 e 1024 shares, por 4 s, e
mede o tempo de CPU de cada um no seu cgroup. A física prevê 512 / (512 + 1024) = ⅓ e ⅔.
O notebook 12 faz mais experimentos desses (primeiro a previsão, depois a medida).
"""),
    code('''
import glassbox.jupyter as gj
race = gj.experiment("busybox", SPIN, sweep={"cpu_shares": [512, 1024]}, together=True,
                     cpuset_cpus="0", duration=4, name=P + "-race")
race
'''),
    code('''
for tr, expected in zip(race.trials, [1 / 3, 2 / 3]):
    print(f"{tr.label}: {tr.cpu_share:.0%} of the CPU time (shares predict {expected:.0%})")
''', '''
for tr, expected in zip(race.trials, [1 / 3, 2 / 3]):
    print(f"{tr.label}: {tr.cpu_share:.0%} do tempo de CPU (os shares preveem {expected:.0%})")
'''),
    md("""
## PIDs: a fork bomb, contained

`f(){ f | f & }; f` makes processes until the machine dies — unless a cgroup says no.
With `--pids-limit 20` the kernel refuses the 21st `fork()`. The host stays fine.
""", """
## PIDs: uma fork bomb, contida

`f(){ f | f & }; f` cria processos até a máquina morrer — a não ser que um cgroup diga não.
Com `--pids-limit 20` o kernel recusa o 21º `fork()`. O host continua funcionando normalmente.
"""),
    code('''
BOMB = 'sh -c "f(){ f | f & }; f" 2>/dev/null & exec sleep 600'
bomb = eng.run("busybox", ["sh", "-c", BOMB], name=P + "-bomb", detach=True,
               pids_limit=20, memory=64 * MiB)
for _ in range(4):
    time.sleep(0.4)
    s = stats(bomb.id)
    print(f"pids in the cgroup: {s.pids_current} / limit {s.pids_limit}")
events = os.path.join(eng.containers._cgroup(eng.containers.get(bomb.id)).paths()["pids"], "pids.events")
print("pids.events:", open(events).read().strip(), "(forks refused)")
print("the host still starts containers:", eng.run("busybox", ["echo", "ok"], auto_remove=True).stdout.decode().strip())
_ = eng.containers.remove(bomb.id, force=True)
''', '''
BOMB = 'sh -c "f(){ f | f & }; f" 2>/dev/null & exec sleep 600'
bomb = eng.run("busybox", ["sh", "-c", BOMB], name=P + "-bomb", detach=True,
               pids_limit=20, memory=64 * MiB)
for _ in range(4):
    time.sleep(0.4)
    s = stats(bomb.id)
    print(f"pids no cgroup: {s.pids_current} / limite {s.pids_limit}")
events = os.path.join(eng.containers._cgroup(eng.containers.get(bomb.id)).paths()["pids"], "pids.events")
print("pids.events:", open(events).read().strip(), "(forks recusados)")
print("o host ainda inicia containers:", eng.run("busybox", ["echo", "ok"], auto_remove=True).stdout.decode().strip())
_ = eng.containers.remove(bomb.id, force=True)
'''),
    md("""
## Changing limits live

`glassbox update` (here `eng.containers.update`) writes new values into the cgroup files of
the running container — no restart. We raise the idle container's memory limit to 128 MiB
and look at the file again.
""", """
## Mudando limites ao vivo

O `glassbox update` (aqui `eng.containers.update`) escreve valores novos nos arquivos do
cgroup do container em execução — sem reiniciar. Aumentamos o limite de memória do
container ocioso para 128 MiB e olhamos o arquivo de novo.
"""),
    code('''
mem_file = next(os.path.join(d, f) for d in paths.values()
                for f in ("memory.limit_in_bytes", "memory.max") if os.path.exists(os.path.join(d, f)))
print("before:", int(open(mem_file).read()) // MiB, "MiB")
eng.containers.update(idle.id, memory=128 * MiB)
print("after :", int(open(mem_file).read()) // MiB, "MiB")
!{GB} update --cpus 1.5 {P}-idle
!{GB} stats --no-stream {P}-idle
''', '''
mem_file = next(os.path.join(d, f) for d in paths.values()
                for f in ("memory.limit_in_bytes", "memory.max") if os.path.exists(os.path.join(d, f)))
print("antes :", int(open(mem_file).read()) // MiB, "MiB")
eng.containers.update(idle.id, memory=128 * MiB)
print("depois:", int(open(mem_file).read()) // MiB, "MiB")
!{GB} update --cpus 1.5 {P}-idle
!{GB} stats --no-stream {P}-idle
'''),
    md("""
In JupyterLab the same thing with sliders and a live chart
([`glassbox.jupyter`](../../engine/glassbox/jupyter)): move the memory slider and watch the
dashed limit line move in the chart. (Sliders need a live kernel; in a saved notebook
they show as text.)
""", """
No JupyterLab, a mesma coisa com sliders e um gráfico ao vivo
([`glassbox.jupyter`](../../engine/glassbox/jupyter)): mova o slider de memória e veja a
linha tracejada do limite se mover no gráfico. (Os controles deslizantes precisam de um kernel em execução;
num notebook salvo aparecem como texto.)
"""),
    code('''
import glassbox.jupyter as gj
sliders = gj.limits(idle.id)
mon = gj.monitor(idle.id)
display(sliders, mon)
'''),
    code('''
for _ in range(30):               # a few samples at 128 MiB first, so the step shows
    if len(mon.samples) >= 6:
        break
    time.sleep(0.1)
sliders.apply(memory=96 * MiB)    # what moving the memory slider does
time.sleep(1.5)
mon.stop()
mon.show()      # the chart as a picture that stays in the saved notebook
print("limit now:", int(open(mem_file).read()) // MiB, "MiB;", len(mon.samples), "samples charted")
''', '''
for _ in range(30):               # algumas amostras em 128 MiB antes, para o degrau aparecer
    if len(mon.samples) >= 6:
        break
    time.sleep(0.1)
sliders.apply(memory=96 * MiB)    # o que mover o slider de memória faz
time.sleep(1.5)
mon.stop()
mon.show()      # o gráfico como imagem, que fica no notebook salvo
print("limite agora:", int(open(mem_file).read()) // MiB, "MiB;", len(mon.samples), "amostras no gráfico")
'''),
    *exercise(
        "A variation on the fork bomb: start a detached container named `nb02-mine` that runs "
        "`BOMB` (the command above) with a pids limit of **10** and a memory limit of 48 MiB. "
        "The check reads its cgroup: the limit, and that the kernel really refused forks "
        "(`pids.events`).",
        "Uma variação da fork bomb: inicie em segundo plano um container chamado `nb02-mine` "
        "que roda `BOMB` (o comando acima) com limite de **10** pids e de 48 MiB de memória. "
        "A verificação lê o cgroup dele: o limite, e se o kernel realmente recusou forks "
        "(`pids.events`).",
        attempt='''
# your code here: eng.run("busybox", ["sh", "-c", BOMB], name=..., detach=True, ...)
''',
        check_fn='''
def check_02():
    try:
        c = eng.containers.get(P + "-mine")
    except NotFound:
        return check(False, "", f"no container named {P}-mine yet: start it with name='{P}-mine', detach=True")
    s = stats(c.id)
    if s is None:
        return check(False, "", f"{P}-mine is not running (status {c.status}): run BOMB detached (detach=True)")
    if s.pids_limit != 10:
        return check(False, "", f"its cgroup says pids.max = {s.pids_limit}, expected 10: pids_limit=10")
    if s.memory_limit != 48 * MiB:
        return check(False, "", f"its memory limit is {s.memory_limit and s.memory_limit / MiB} MiB, expected 48")
    time.sleep(0.5)
    refused = open(os.path.join(eng.containers._cgroup(c).paths()["pids"], "pids.events")).read().split()
    check(int(refused[-1]) > 0, f"pids.max 10 held: {refused[-1]} forks refused, {s.pids_current} processes",
          "no fork was refused yet: is the command the fork bomb (['sh', '-c', BOMB])?")
check_02()
''', check_fn_pt='''
def check_02():
    try:
        c = eng.containers.get(P + "-mine")
    except NotFound:
        return check(False, "", f"ainda não há container chamado {P}-mine: inicie-o com name='{P}-mine', detach=True")
    s = stats(c.id)
    if s is None:
        return check(False, "", f"{P}-mine não está rodando (status {c.status}): rode BOMB em segundo plano (detach=True)")
    if s.pids_limit != 10:
        return check(False, "", f"o cgroup diz pids.max = {s.pids_limit}, esperado 10: pids_limit=10")
    if s.memory_limit != 48 * MiB:
        return check(False, "", f"o limite de memória é {s.memory_limit and s.memory_limit / MiB} MiB, esperado 48")
    time.sleep(0.5)
    refused = open(os.path.join(eng.containers._cgroup(c).paths()["pids"], "pids.events")).read().split()
    check(int(refused[-1]) > 0, f"pids.max 10 segurou: {refused[-1]} forks recusados, {s.pids_current} processos",
          "nenhum fork foi recusado ainda: o comando é a fork bomb (['sh', '-c', BOMB])?")
check_02()
''',
        solution='''
eng.run("busybox", ["sh", "-c", BOMB], name=P + "-mine", detach=True, pids_limit=10, memory=48 * MiB)
check_02()
'''),
    summary(
        ["A container's cgroup is a directory of files under `/sys/fs/cgroup`; `-m`, `--cpus` and `--pids-limit` are values written into them, and the kernel enforces them.",
         'Past the memory limit the OOM killer strikes (exit code 137, `OOMKilled`); a CPU quota is a ceiling, shares split a contended CPU; `pids.max` refuses new processes.',
         'Limits change while the container runs (`update`): the file changes, the process is not restarted.'],
        ['O cgroup de um container é um diretório de arquivos em `/sys/fs/cgroup`; `-m`, `--cpus` e `--pids-limit` são valores escritos neles, e o kernel os faz valer.',
         'Passado o limite de memória, o OOM killer age (código de saída 137, `OOMKilled`); uma cota de CPU é um teto, e os shares dividem uma CPU disputada; o `pids.max` recusa processos novos.',
         'Os limites mudam com o container rodando (`update`): o arquivo muda, o processo não é reiniciado.'],
        '[03 · the overlay file system](03-overlay-filesystem.ipynb).',
        '[03 · o sistema de arquivos overlay](03-overlay-filesystem.ipynb).'),
    *finish(),
]

CELLS = gate(CELLS, "limits",
             'name=P + "-idle", detach=True', 'FILES = ["memory.limit_in_bytes"', "ALLOC = ",
             "fig, ax = plt.subplots(figsize=(8, 3))", "State.OOMKilled", 'SPIN = ["sh"',
             'name=P + "-race"', "for tr, expected in zip(race.trials", "BOMB = '",
             "mem_file = next(", "sliders = gj.limits(idle.id)", "sliders.apply(memory=96 * MiB)",
             "def check_02():",
             note_en="(rootless without a delegated cgroup the kernel refuses every limit: "
                     "`glassbox doctor` says how to delegate one.)",
             note_pt="(no rootless sem um cgroup delegado o kernel recusa todo limite: o "
                     "`glassbox doctor` diz como delegar um.)")
"""Every cell that sets, reads or moves a limit (and the cells that read what they made)."""
