from common import code, exercise, finish, gate, header, md, notes_vs_kernel, setup

SLUG = "12-limit-experiments"

GROW = '''
# GROW(n): a shell that grows a string by 1 MiB at a time up to n MiB, then sleeps a moment
def GROW(n):
    return ["sh", "-c", f"x=; while [ ${{#x}} -lt {n * 1048576} ]; do "
            "x=\\"$x$(head -c 1048576 /dev/zero | tr '\\\\0' a)\\"; done; sleep 0.3"]
SPIN = ["sh", "-c", "while :; do :; done"]
'''

CELLS = [
    *header(
        12, "Limit experiments: predict, measure, compare",
        "Experimentos com limites: prever, medir, comparar",
        ["Treat a cgroup limit as a law of physics: predict what it does, then measure it.",
         "Memory: where the OOM killer strikes; page cache counted against the limit; "
         "`memory.high` vs `memory.max` (and v1's soft limit); swap.",
         "CPU: how `--cpu-shares` splits one contended CPU.",
         "`gj.experiment`: one fresh container per trial, measured from its cgroup."],
        ["Tratar um limite de cgroup como uma lei da física: prever o que ele faz e depois "
         "medir.",
         "Memória: onde o OOM killer ataca; o cache de páginas contado no limite; "
         "`memory.high` vs `memory.max` (e o soft limit do v1); swap.",
         "CPU: como o `--cpu-shares` divide uma CPU disputada.",
         "`gj.experiment`: um container novo por ensaio, medido pelo seu cgroup."],
        ["jupyter", "cgroups"],
        quote_pt="""
[...] o Cgroup irá delimitar os recursos destes processos, ou seja, determinar que um
determinado processo venha a consumir um tanto de memória, de cpu [...]
""",
        quote_en="""
[...] the cgroup delimits the resources of these processes, that is, it sets how much
memory and CPU a given process may consume [...]
"""),
    *setup("nb12"),
    md("""
What this machine has: the cgroup version, the CPUs, the memory and the swap. Every
prediction below depends on them.
""", """
O que esta máquina tem: a versão do cgroup, as CPUs, a memória e o swap. Todas as previsões
abaixo dependem disso.
"""),
    code('''
from glassbox.cgroups import detect_version
MiB = 1 << 20
V = detect_version()
swaps = open("/proc/swaps").read().splitlines()[1:]
mem_total = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
print("cgroup version:", V, "· CPUs:", os.cpu_count(), f"· memory: {mem_total // 1024} MiB",
      "· swap:", ", ".join(s.split()[0] for s in swaps) if swaps else "none")
''' + GROW, '''
from glassbox.cgroups import detect_version
MiB = 1 << 20
V = detect_version()
swaps = open("/proc/swaps").read().splitlines()[1:]
mem_total = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
print("versão do cgroup:", V, "· CPUs:", os.cpu_count(), f"· memória: {mem_total // 1024} MiB",
      "· swap:", ", ".join(s.split()[0] for s in swaps) if swaps else "nenhum")
''' + GROW.replace("# GROW(n): a shell that grows a string by 1 MiB at a time up to n MiB, then "
                   "sleeps a moment",
                   "# GROW(n): um shell que aumenta uma string de 1 em 1 MiB até n MiB e "
                   "espera um instante")),
    md("""
## 1 · Memory: where does the OOM killer strike?

`GROW(40)` builds a 40 MiB string. While the shell copies it to append one more MiB, the
old and the new string exist side by side, so the peak is about **twice** the string.
The experiment runs it under four limits, one fresh container each, with
`memory_swap` equal to `memory` (no swap, whatever the machine has; section 4 is about swap).

**Predict first.** Which of `16m`, `32m`, `64m`, `128m` will be killed? At what memory
usage will the killed ones die? Write it down in the next cell (it is not graded).
""", """
## 1 · Memória: onde o OOM killer ataca?

`GROW(40)` monta uma string de 40 MiB. Enquanto o shell a copia para acrescentar mais um
MiB, a string velha e a nova existem ao mesmo tempo, então o pico fica em cerca do
**dobro** da string. O experimento roda isso com quatro limites, um container novo para
cada um, com `memory_swap` igual a `memory` (sem swap, tenha a máquina ou não; a seção 4
trata do swap).

**Preveja primeiro.** Quais de `16m`, `32m`, `64m`, `128m` serão mortos? Com quanta memória
em uso os que morrerem vão morrer? Anote na próxima célula (ela não vale nota).
"""),
    code('''
my_memory_prediction = "..."   # e.g. "16m and 32m die, at about their limit"
''', '''
minha_previsao_memoria = "..."   # p.ex. "16m e 32m morrem, perto do limite"
'''),
    code('''
NO_SWAP = lambda opts: opts["memory"]    # memory_swap = memory: no swap, on any machine
mem = gj.experiment("busybox", GROW(40), sweep={"memory": ["16m", "32m", "64m", "128m"]},
                    memory_swap=NO_SWAP, name=P + "-mem")
mem
'''),
    code('''
for tr in mem.trials:
    where = f"peak {tr.peak_memory / MiB:.1f} of {tr.memory_limit / MiB:.0f} MiB " \\
            f"({tr.peak_memory / tr.memory_limit:.0%} of the limit)"
    print(f"{tr.label:12} {'OOM-killed, exit ' + str(tr.exit_code) if tr.oom_killed else 'survived'}: {where}")
''', '''
for tr in mem.trials:
    where = f"pico {tr.peak_memory / MiB:.1f} de {tr.memory_limit / MiB:.0f} MiB " \\
            f"({tr.peak_memory / tr.memory_limit:.0%} do limite)"
    print(f"{tr.label:12} {'morto pelo OOM, saída ' + str(tr.exit_code) if tr.oom_killed else 'sobreviveu'}: {where}")
'''),
    md("""
Compare with your prediction. The killed trials' high-water mark (`memory.max_usage_in_bytes`
on v1, `memory.peak` on v2) sits **at the limit**: the kernel first tries to reclaim,
and when nothing can be reclaimed at the limit, it kills. The survivor peaked at about
twice the string, as predicted. CPU time grows with the limit: the longer a trial lives,
the more it copies.
""", """
Compare com a sua previsão. A marca máxima dos ensaios mortos (`memory.max_usage_in_bytes`
no v1, `memory.peak` no v2) fica **no limite**: o kernel primeiro tenta recuperar memória e,
quando não há mais nada a recuperar no limite, mata. O sobrevivente chegou a cerca do
dobro da string, como previsto. O tempo de CPU cresce com o limite: quanto mais um ensaio
vive, mais ele copia.
"""),
    md("""
## 2 · The page cache counts against the limit

Writing a file fills the kernel's **page cache**, and those pages are charged to the
writer's cgroup. Two trials with `-m 32m` each write 60 MiB, one to a file in the
container's own file system (the overlay, on disk), one to `/dev/shm` (a tmpfs: the file
*is* memory).

**Predict:** which one survives? Does the one that survives ever reach 32 MiB?
""", """
## 2 · O cache de páginas conta no limite

Escrever um arquivo enche o **cache de páginas** do kernel, e essas páginas são cobradas do
cgroup de quem escreveu. Dois ensaios com `-m 32m` escrevem 60 MiB cada um: um num arquivo
do próprio sistema de arquivos do container (o overlay, em disco), o outro em `/dev/shm`
(um tmpfs: ali o arquivo *é* memória).

**Preveja:** qual sobrevive? O que sobrevive chega a 32 MiB em algum momento?
"""),
    code('''
WRITE = "for i in $(seq 60); do head -c 1048576 /dev/zero >> {}; done"
cache = gj.experiment("busybox", sweep={"command": {"disk": ["sh", "-c", WRITE.format("/tmp/f")],
                                                    "tmpfs": ["sh", "-c", WRITE.format("/dev/shm/f")]}},
                      memory="32m", memory_swap="32m", name=P + "-cache")
cache
'''),
    md("""
The disk writer **reached the limit** (its peak is about 32 MiB although the process itself
holds almost nothing) and was not killed: clean page cache can be dropped, so at the
limit the kernel reclaims it instead of killing. The tmpfs writer was killed: tmpfs pages
can only go to swap, and there is none. This is also why `docker stats` (and
`glassbox stats`) subtract the inactive file cache from the usage they show.
""", """
O que escreveu em disco **chegou ao limite** (o pico fica em cerca de 32 MiB, embora o
processo em si quase não ocupe nada) e não foi morto: cache de páginas limpo pode ser
descartado, então no limite o kernel o recupera em vez de matar. O que escreveu no tmpfs
foi morto: páginas de tmpfs só podem ir para o swap, e não há swap. É por isso também que
o `docker stats` (e o `glassbox stats`) desconta o cache de arquivos inativo do uso que
mostra.
"""),
    md("""
## 3 · `memory.high` vs `memory.max` (and v1's soft limit)

`-m` writes the **hard** limit: `memory.max` (v2), `memory.limit_in_bytes` (v1). Reach it
and the kernel reclaims or kills. There is also a **soft** threshold:

- v2 `memory.high`: above it the kernel *throttles* the cgroup and reclaims hard, but
  never kills. A process over `memory.high` slows down instead of dying.
- v1 `memory.soft_limit_in_bytes` (Docker's `--memory-reservation`): only acted on when
  the **whole machine** runs short of memory; then the groups above their soft limit are
  reclaimed first.

We write the soft value by hand into a running container's cgroup (16 MiB, with a hard
limit of 128 MiB) and let `GROW(20)` run. **Predict:** on this machine's cgroup version,
does the usage stay near 16 MiB?
""", """
## 3 · `memory.high` vs `memory.max` (e o soft limit do v1)

O `-m` escreve o limite **rígido**: `memory.max` (v2), `memory.limit_in_bytes` (v1). Ao
atingi-lo, o kernel recupera memória ou mata. Há também um limiar **suave**:

- `memory.high` do v2: acima dele o kernel *estrangula* o cgroup e recupera memória com
  força, mas nunca mata. Um processo acima do `memory.high` fica lento em vez de morrer.
- `memory.soft_limit_in_bytes` do v1 (o `--memory-reservation` do Docker): só tem efeito
  quando falta memória na **máquina inteira**; aí os grupos acima do soft limit são os
  primeiros a perder memória.

Escrevemos o valor suave à mão no cgroup de um container em execução (16 MiB, com limite
rígido de 128 MiB) e deixamos o `GROW(20)` rodar. **Preveja:** na versão de cgroup desta
máquina, o uso fica perto de 16 MiB?
"""),
    code('''
soft = eng.run("busybox", ["sh", "-c", "sleep 0.5; " + GROW(20)[2] + "; sleep 600"], name=P + "-soft",
               detach=True, memory=128 * MiB)
cg_dir = eng.containers._cgroup(eng.containers.get(soft.id)).paths()["memory"]
soft_file = "memory.high" if V == 2 else "memory.soft_limit_in_bytes"
with open(os.path.join(cg_dir, soft_file), "w") as f:
    f.write(str(16 * MiB))
time.sleep(3)
s = eng.containers.stats(soft.id)
print(f"{soft_file} = 16 MiB · usage now {s.memory_usage / MiB:.1f} MiB · peak "
      f"{s.memory_max_usage / MiB:.1f} MiB · OOM kills {s.oom_kills} · still running: "
      f"{eng.containers.get(soft.id).running}")
_ = eng.containers.remove(soft.id, force=True)
''', '''
soft = eng.run("busybox", ["sh", "-c", "sleep 0.5; " + GROW(20)[2] + "; sleep 600"], name=P + "-soft",
               detach=True, memory=128 * MiB)
cg_dir = eng.containers._cgroup(eng.containers.get(soft.id)).paths()["memory"]
soft_file = "memory.high" if V == 2 else "memory.soft_limit_in_bytes"
with open(os.path.join(cg_dir, soft_file), "w") as f:
    f.write(str(16 * MiB))
time.sleep(3)
s = eng.containers.stats(soft.id)
print(f"{soft_file} = 16 MiB · uso agora {s.memory_usage / MiB:.1f} MiB · pico "
      f"{s.memory_max_usage / MiB:.1f} MiB · OOM kills {s.oom_kills} · ainda rodando: "
      f"{eng.containers.get(soft.id).running}")
_ = eng.containers.remove(soft.id, force=True)
'''),
    md("""
On **v1** (this lab's machine) the usage went far above the soft limit: there is plenty of
free memory, so the soft limit did nothing at all. On **v2**, `memory.high` holds the usage
near 16 MiB by throttling and reclaiming: the shell gets slow, and nobody is killed. In both
versions only the hard limit kills.
""", """
No **v1** (a máquina deste laboratório) o uso passou muito do soft limit: há bastante
memória livre, então o soft limit não fez nada. No **v2**, o `memory.high` segura o uso
perto de 16 MiB estrangulando e recuperando memória: o shell fica lento, e ninguém morre. Nas
duas versões, só o limite rígido mata.
"""),
    md("""
## 4 · Swap

`--memory-swap` is memory **plus** swap (Docker's convention; v1 `memory.memsw.limit_in_bytes`,
while v2's `memory.swap.max` counts swap only). With `-m 32m --memory-swap 64m`, up to
32 MiB of the container may be swapped out, so it survives longer. **Predict** for this
machine (look at the swap line printed at the top): does `--memory-swap 64m` save `GROW(20)`
(peak about 40 MiB) under `-m 32m`?
""", """
## 4 · Swap

`--memory-swap` é memória **mais** swap (a convenção do Docker; no v1
`memory.memsw.limit_in_bytes`, enquanto o `memory.swap.max` do v2 conta só o swap). Com
`-m 32m --memory-swap 64m`, até 32 MiB do container podem ir para o swap, então ele
sobrevive mais. **Preveja** para esta máquina (veja a linha de swap impressa no começo): o
`--memory-swap 64m` salva o `GROW(20)` (pico de cerca de 40 MiB) com `-m 32m`?
"""),
    code('''
swap = gj.experiment("busybox", GROW(20), sweep={"memory_swap": ["32m", "64m"]}, memory="32m",
                     name=P + "-swap", live=False)
print(repr(swap))
print("swap on this machine:", "none: both die at the 32 MiB memory limit" if not swaps
      else f"{len(swaps)} device(s): the 64m trial may move pages out instead of dying")
''', '''
swap = gj.experiment("busybox", GROW(20), sweep={"memory_swap": ["32m", "64m"]}, memory="32m",
                     name=P + "-swap", live=False)
print(repr(swap))
print("swap nesta máquina:", "nenhum: os dois morrem no limite de 32 MiB de memória" if not swaps
      else f"{len(swaps)} dispositivo(s): o ensaio de 64m pode mandar páginas para o swap em vez de morrer")
'''),
    notes_vs_kernel(
        "\"the cgroup sets how much memory a process may consume\".",
        "It sets how much the **group** may be charged, page cache and tmpfs included, and "
        "what happens at the line depends on the kind of memory: clean cache is dropped, "
        "anonymous memory and tmpfs go to swap if there is any, otherwise the OOM killer "
        "picks a process *in that group*.",
        "\"o Cgroup determina que um processo venha a consumir um tanto de memória\".",
        "Ele determina quanto o **grupo** pode ter cobrado, incluindo cache de páginas e "
        "tmpfs, e o que acontece no limite depende do tipo de memória: cache limpo é "
        "descartado, memória anônima e tmpfs vão para o swap se houver, senão o OOM killer "
        "escolhe um processo *daquele grupo*."),
    md("""
## 5 · CPU: splitting one contended CPU

`--cpu-shares` (v1 `cpu.shares`, v2 `cpu.weight`) is a weight. CFS (the Linux scheduler)
gives each group on a busy CPU `shares / (sum of the shares)` of it. The weights only
matter under contention, so the experiment pins every trial to CPU 0 (`cpuset_cpus="0"`)
and runs them `together`. Here: 1024 vs 1024, the default against the default.
""", """
## 5 · CPU: dividindo uma CPU disputada

O `--cpu-shares` (`cpu.shares` no v1, `cpu.weight` no v2) é um peso. O CFS (o escalonador
do Linux) dá a cada grupo numa CPU ocupada a fração `shares / (soma dos shares)` dela. Os
pesos só importam quando há disputa, então o experimento prende todos os ensaios à CPU 0
(`cpuset_cpus="0"`) e os roda juntos (`together`). Aqui: 1024 contra 1024, o padrão contra
o padrão.
"""),
    code('''
even = gj.experiment("busybox", SPIN, sweep={"cpu_shares": [1024, 1024]}, together=True,
                     cpuset_cpus="0", duration=3, name=P + "-even")
even
'''),
    *exercise(
        "**Predict, then measure.** Three containers on CPU 0 with `--cpu-shares` **256, 512 "
        "and 1024**. First write in `prediction` the share of the CPU (in %) you expect for "
        "each one, in that order. Then run the experiment as `r3 = gj.experiment(...)` "
        "(together, pinned to CPU 0, 4 s). The check compares your prediction with the "
        "measurement, and the measurement with CFS's rule.",
        "**Preveja e depois meça.** Três containers na CPU 0 com `--cpu-shares` **256, 512 e "
        "1024**. Primeiro escreva em `prediction` a fatia da CPU (em %) que você espera para "
        "cada um, nessa ordem. Depois rode o experimento como `r3 = gj.experiment(...)` "
        "(juntos, presos à CPU 0, 4 s). A verificação compara sua previsão com a medida, e a "
        "medida com a regra do CFS.",
        attempt='''
prediction = [None, None, None]     # % of the CPU for shares 256, 512, 1024
# r3 = gj.experiment(...)
''',
        check_fn='''
def check_12_cpu():
    if None in prediction or abs(sum(prediction) - 100) > 2:
        return check(False, "", f"prediction is {prediction}: three percentages that add up to 100, first")
    r = globals().get("r3")
    if r is None:
        return check(False, "", "no r3 yet: r3 = gj.experiment(..., sweep={'cpu_shares': [256, 512, 1024]}, together=True, cpuset_cpus='0')")
    shares = [tr.options.get("cpu_shares") for tr in r.trials]
    if shares != [256, 512, 1024] or not r.together:
        return check(False, "", f"r3 ran shares {shares} (together={r.together}): sweep [256, 512, 1024], together=True")
    got = [tr.cpu_share * 100 for tr in r.trials]
    law = [s / sum(shares) * 100 for s in shares]
    if max(abs(g - w) for g, w in zip(got, law)) > 8:
        return check(False, "", f"measured {[round(g) for g in got]}%, CFS predicts {[round(w) for w in law]}%: "
                     "were they all pinned to one CPU (cpuset_cpus='0')?")
    off = max(abs(p - g) for p, g in zip(prediction, got))
    check(off <= 10, f"measured {[round(g) for g in got]}%, you predicted {prediction}: "
          f"shares / sum(shares) = {[round(w) for w in law]}%",
          f"measured {[round(g) for g in got]}%, you predicted {prediction}: each gets shares / (sum of the shares)")
check_12_cpu()
''', check_fn_pt='''
def check_12_cpu():
    if None in prediction or abs(sum(prediction) - 100) > 2:
        return check(False, "", f"prediction é {prediction}: antes, três porcentagens que somem 100")
    r = globals().get("r3")
    if r is None:
        return check(False, "", "ainda não há r3: r3 = gj.experiment(..., sweep={'cpu_shares': [256, 512, 1024]}, together=True, cpuset_cpus='0')")
    shares = [tr.options.get("cpu_shares") for tr in r.trials]
    if shares != [256, 512, 1024] or not r.together:
        return check(False, "", f"r3 rodou os shares {shares} (together={r.together}): sweep [256, 512, 1024], together=True")
    got = [tr.cpu_share * 100 for tr in r.trials]
    law = [s / sum(shares) * 100 for s in shares]
    if max(abs(g - w) for g, w in zip(got, law)) > 8:
        return check(False, "", f"medido {[round(g) for g in got]}%, o CFS prevê {[round(w) for w in law]}%: "
                     "todos estavam presos a uma só CPU (cpuset_cpus='0')?")
    off = max(abs(p - g) for p, g in zip(prediction, got))
    check(off <= 10, f"medido {[round(g) for g in got]}%, você previu {prediction}: "
          f"shares / soma(shares) = {[round(w) for w in law]}%",
          f"medido {[round(g) for g in got]}%, você previu {prediction}: cada um recebe shares / (soma dos shares)")
check_12_cpu()
''',
        solution='''
prediction = [14.3, 28.6, 57.1]     # 256/1792, 512/1792, 1024/1792
r3 = gj.experiment("busybox", SPIN, sweep={"cpu_shares": [256, 512, 1024]}, together=True,
                   cpuset_cpus="0", duration=4, name=P + "-three")
r3
check_12_cpu()
''', n=1),
    *exercise(
        "**Bracket the OOM line.** `GROW(20)` builds a 20 MiB string. Choose at least three "
        "memory limits so that at least one trial is killed and at least one survives, write "
        "in `smallest_survivor` the smallest of your limits you predict survives (e.g. "
        "`\"64m\"`), then run `r4 = gj.experiment(\"busybox\", GROW(20), sweep={\"memory\": "
        "[...]}, ...)`. The check verifies the physics (each kill came at its limit) and "
        "your prediction.",
        "**Cerque a linha do OOM.** `GROW(20)` monta uma string de 20 MiB. Escolha pelo menos "
        "três limites de memória de modo que pelo menos um ensaio morra e pelo menos um "
        "sobreviva, escreva em `smallest_survivor` o menor dos seus limites que você prevê "
        "que sobrevive (p.ex. `\"64m\"`) e então rode `r4 = gj.experiment(\"busybox\", "
        "GROW(20), sweep={\"memory\": [...]}, ...)`. A verificação confere a física (cada "
        "morte veio no seu limite) e a sua previsão.",
        attempt='''
smallest_survivor = None     # e.g. "64m"
# r4 = gj.experiment("busybox", GROW(20), sweep={"memory": [...]}, memory_swap=NO_SWAP, name=P + "-r4")
''',
        check_fn='''
def check_12_mem():
    r = globals().get("r4")
    if smallest_survivor is None or r is None:
        return check(False, "", "write smallest_survivor first, then run r4 = gj.experiment(...GROW(20)...)")
    if len(r.trials) < 3 or any("memory" not in tr.options for tr in r.trials):
        return check(False, "", "r4 needs at least three trials with different memory limits")
    died = [tr for tr in r.trials if tr.oom_killed]
    lived = [tr for tr in r.trials if tr.ended == "exited" and tr.exit_code == 0]
    if not died or not lived:
        return check(False, "", f"{len(died)} killed, {len(lived)} survived: pick limits on both sides of the peak")
    for tr in died:
        if tr.peak_memory < 0.85 * tr.memory_limit:
            return check(False, "", f"{tr.label} died at {tr.peak_memory / MiB:.1f} MiB, far below its limit?")
    best = min(lived, key=lambda tr: tr.memory_limit)
    check(best.label == f"memory={smallest_survivor}",
          f"every kill came at its limit, and {best.label} is the smallest survivor (peak {best.peak_memory / MiB:.0f} MiB), as you predicted",
          f"the smallest survivor is {best.label} (peak {best.peak_memory / MiB:.0f} MiB), you predicted {smallest_survivor!r}")
check_12_mem()
''', check_fn_pt='''
def check_12_mem():
    r = globals().get("r4")
    if smallest_survivor is None or r is None:
        return check(False, "", "escreva smallest_survivor primeiro e depois rode r4 = gj.experiment(...GROW(20)...)")
    if len(r.trials) < 3 or any("memory" not in tr.options for tr in r.trials):
        return check(False, "", "r4 precisa de pelo menos três ensaios com limites de memória diferentes")
    died = [tr for tr in r.trials if tr.oom_killed]
    lived = [tr for tr in r.trials if tr.ended == "exited" and tr.exit_code == 0]
    if not died or not lived:
        return check(False, "", f"{len(died)} mortos, {len(lived)} sobreviventes: escolha limites dos dois lados do pico")
    for tr in died:
        if tr.peak_memory < 0.85 * tr.memory_limit:
            return check(False, "", f"{tr.label} morreu com {tr.peak_memory / MiB:.1f} MiB, bem abaixo do limite?")
    best = min(lived, key=lambda tr: tr.memory_limit)
    check(best.label == f"memory={smallest_survivor}",
          f"cada morte veio no seu limite, e {best.label} é o menor sobrevivente (pico {best.peak_memory / MiB:.0f} MiB), como você previu",
          f"o menor sobrevivente é {best.label} (pico {best.peak_memory / MiB:.0f} MiB), você previu {smallest_survivor!r}")
check_12_mem()
''',
        solution='''
smallest_survivor = "96m"    # the peak is about twice the string: ~41 MiB
r4 = gj.experiment("busybox", GROW(20), sweep={"memory": ["16m", "32m", "96m"]}, memory_swap=NO_SWAP,
                   name=P + "-r4")
r4
check_12_mem()
''', n=2),
    md("""
## Summary

- A limit is a law you can test: predict, measure from the cgroup, compare.
- The OOM killer strikes **at** the hard limit (`memory.max` / `memory.limit_in_bytes`),
  after reclaim failed; page cache counts but is reclaimed, tmpfs is not.
- `memory.high` (v2) throttles instead of killing; v1's soft limit acts only under global
  pressure. Swap changes the picture only where there is swap.
- `--cpus` is a ceiling per container; `--cpu-shares` splits a *contended* CPU by weight.

Next: [13 · what a container may not do](13-what-a-container-may-not-do.ipynb) — or
[01 · namespaces](01-namespaces.ipynb) if you started here.
""", """
## Resumo

- Um limite é uma lei que dá para testar: prever, medir pelo cgroup, comparar.
- O OOM killer ataca **no** limite rígido (`memory.max` / `memory.limit_in_bytes`), depois
  que a recuperação de memória falhou; o cache de páginas conta, mas é recuperado; o tmpfs
  não.
- O `memory.high` (v2) estrangula em vez de matar; o soft limit do v1 só age quando falta
  memória na máquina inteira. O swap só muda o quadro onde existe swap.
- `--cpus` é um teto por container; `--cpu-shares` divide uma CPU *disputada* por peso.

Próximo: [13 · o que um container não pode fazer](13-what-a-container-may-not-do.ipynb) — ou
[01 · namespaces](01-namespaces.ipynb), se você começou por aqui.
"""),
    *finish(),
]

CELLS = gate(CELLS, "limits",
             "NO_SWAP = lambda", "for tr in mem.trials:", 'WRITE = "for i in', "soft = eng.run(",
             "swap = gj.experiment(", "even = gj.experiment(", "def check_12_cpu():",
             "def check_12_mem():",
             note_en="(every experiment here sets a limit: rootless without a delegated cgroup the "
                     "kernel refuses them; `glassbox doctor` says how to delegate one.)",
             note_pt="(todo experimento aqui define um limite: no rootless sem um cgroup delegado "
                     "o kernel os recusa; o `glassbox doctor` diz como delegar um.)")
"""The experiments and the cells that read their results."""
