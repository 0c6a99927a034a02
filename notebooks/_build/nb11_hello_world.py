from common import code, exercise, finish, header, md, notes_vs_kernel, setup, summary

SLUG = "11-hello-world-commands"

CELLS = [
    *header(
        11, "Hello World: the first commands", "Hello World: os comandos iniciais",
        ["`run`, `ps`, `ps -a`, `rm`, `images`, `rmi` — and what each one really touches."],
        ["`run`, `ps`, `ps -a`, `rm`, `images`, `rmi` — e em que cada um realmente mexe."],
        ["cli", "containers", "images"],
        quote_pt="""
- `docker run <image-name>` Cria um container;
- `docker ps` Lista os containers que estão rodando;
- `docker ps -a` Lista os containers criados, inclusive os que não estão rodando;
- `docker rm <container-name-or-id>` Remove o container, mas não a imagem do IMAGE REGISTRY;
- `docker images` Lista as imagens baixadas e que estão no cache do Docker Host;
- `docker rmi <image-id>` Remove definitivamente a imagem do registry;
""",
        quote_en="""
- `docker run <image-name>` creates a container;
- `docker ps` lists the running containers;
- `docker ps -a` lists the created containers, including those not running;
- `docker rm <container-name-or-id>` removes the container, but not the image from the IMAGE REGISTRY;
- `docker images` lists the downloaded images, in the Docker Host's cache;
- `docker rmi <image-id>` removes the image from the registry for good;
"""),
    md("""
`glassbox` takes the same commands and flags as `docker`. Here we call the CLI from cells
with `!{GB} ...` (in a terminal: `glassbox ...`).
""", """
O `glassbox` aceita os mesmos comandos e flags que o `docker`. Aqui chamamos a CLI das
células com `!{GB} ...` (num terminal: `glassbox ...`).
"""),
    *setup("nb11"),
    md("""
## `run`: create a container (and start it)

`run` = `create` + `start`. Attached, it waits and shows the output; the container then
**exits** but still exists.
""", """
## `run`: cria um container (e o inicia)

`run` = `create` + `start`. Em primeiro plano, espera e mostra a saída; depois o container
**termina**, mas continua existindo.
"""),
    code('''
!{GB} run --name {P}-hello busybox echo "Hello World"
'''),
    md("""
## `ps` and `ps -a`

`ps` shows only running containers — the hello container has exited, so it is not there.
A detached one (`-d`) keeps running. `ps -a` shows all of them, with their exit status.
""", """
## `ps` e `ps -a`

O `ps` mostra só os containers rodando — o container hello já terminou, então não aparece.
Um em segundo plano (`-d`) continua rodando. O `ps -a` mostra todos, com o status de saída.
"""),
    code('''
!{GB} run -d --name {P}-web busybox sleep 600
print("--- ps")
!{GB} ps
print("--- ps -a")
!{GB} ps -a --filter name={P}
'''),
    md("""
## `rm`: remove containers

`rm` removes the container (its read/write layer and state) — the **image stays** in the
local store. A running container needs `-f` (or a `stop` first).
""", """
## `rm`: remove containers

O `rm` remove o container (a camada read/write e o estado) — a **imagem fica** no
armazenamento local. Um container rodando precisa de `-f` (ou de um `stop` antes).
"""),
    code('''
!{GB} rm {P}-web
!{GB} rm -f {P}-web {P}-hello
!{GB} ps -a --filter name={P}
!{GB} images busybox
'''),
    notes_vs_kernel(
        "`docker rmi <image-id>` \"removes the image from the registry for good\", and "
        "`docker rm` removes the container \"but not the image from the IMAGE REGISTRY\".",
        "Neither command talks to a registry. `rm` deletes a container (and its read/write "
        "layer); the image stays in the **local store**. `rmi` removes an image from that "
        "local store (a tag first, the layers when no tag is left); a pushed copy stays in "
        "its registry (notebook 07): only `push` or the registry's own API change what a "
        "registry holds.",
        "`docker rmi <image-id>` \"remove definitivamente a imagem do registry\", e o "
        "`docker rm` remove o container \"mas não a imagem do IMAGE REGISTRY\".",
        "Nenhum dos dois fala com um registry. O `rm` apaga um container (e a camada "
        "read/write dele); a imagem continua no **armazenamento local**. O `rmi` remove uma "
        "imagem desse armazenamento local (primeiro uma tag, as camadas quando não sobra "
        "nenhuma tag); uma cópia enviada continua no registry (notebook 07): só o `push` ou "
        "a API do próprio registry mudam o que um registry guarda."),
    md("""
## `images` and `rmi`

`images` lists the local store: the Docker Host's cache. `rmi` removes an image **from
that local cache** (see the box above).

We make an image to remove (a tag of busybox), and see that `rmi` of a tag only untags
while another name still points to the same image.
""", """
## `images` e `rmi`

O `images` lista o armazenamento local: o cache do Docker Host. O `rmi` remove uma imagem
**desse cache local** (veja o quadro acima).

Criamos uma imagem para remover (uma tag de busybox) e vemos que o `rmi` de uma tag só
remove a tag enquanto outro nome ainda aponta para a mesma imagem.
"""),
    code('''
!{GB} tag busybox {P}-mybox:1.0
!{GB} images
!{GB} rmi {P}-mybox:1.0
!{GB} images
'''),
    md("""
When the last tag goes, the image itself is deleted (its own layers too, unless another
image shares them). An image used by a container cannot be removed without `-f`: Docker's
rule, glassbox's too.
""", """
Quando a última tag é removida, a própria imagem é apagada (as camadas dela também, a não ser que
outra imagem as compartilhe). Uma imagem usada por um container não pode ser removida sem
`-f`: regra do Docker, e do glassbox também.
"""),
    code('''
!{GB} run --name {P}-maker busybox sh -c 'echo mine > /mine.txt'
!{GB} commit {P}-maker {P}-mine:1
!{GB} rm {P}-maker
!{GB} create --name {P}-user {P}-mine:1 cat /mine.txt
!{GB} rmi {P}-mine:1
!{GB} rm {P}-user
!{GB} rmi {P}-mine:1
'''),
    *exercise(
        "An exited container is not gone. Run a container named `nb11-ex` that prints "
        "`Olá, mundo` and exits (no `--rm`), then make the **same container** run again "
        "(not a new one: `glassbox start -a`, the verb the notes do not list). The check "
        "reads its log, which keeps the output of every run.",
        "Um container que terminou não sumiu. Rode um container chamado `nb11-ex` que imprima "
        "`Olá, mundo` e termine (sem `--rm`), e depois faça o **mesmo container** rodar de "
        "novo (não um novo: `glassbox start -a`, o verbo que as notas não listam). A "
        "verificação lê o log dele, que guarda a saída de cada execução.",
        attempt='''
# your commands here, e.g. !{GB} run ... and then !{GB} start ...
''',
        check_fn='''
def check_11():
    try:
        c = eng.containers.get(P + "-ex")
    except NotFound:
        return check(False, "", f"no container {P}-ex in ps -a: use --name {P}-ex and no --rm")
    if c.running:
        return check(False, "", f"{P}-ex is still running: the command should print and exit")
    logs = subprocess.run([GB, "logs", c.id], capture_output=True, text=True).stdout
    runs = logs.count("Olá, mundo")
    check(runs >= 2, f"{P}-ex ran {runs} times, one container, one log: {logs.strip()!r}",
          f"{P}-ex printed 'Olá, mundo' {runs} time(s): start the same container again ({GB.split('/')[-1]} start -a {P}-ex)"
          if runs else f"{P}-ex printed {logs.strip()!r}, not 'Olá, mundo'")
check_11()
''', check_fn_pt='''
def check_11():
    try:
        c = eng.containers.get(P + "-ex")
    except NotFound:
        return check(False, "", f"nenhum container {P}-ex no ps -a: use --name {P}-ex e sem --rm")
    if c.running:
        return check(False, "", f"{P}-ex ainda está rodando: o comando deve imprimir e terminar")
    logs = subprocess.run([GB, "logs", c.id], capture_output=True, text=True).stdout
    runs = logs.count("Olá, mundo")
    check(runs >= 2, f"{P}-ex rodou {runs} vezes, um container, um log: {logs.strip()!r}",
          f"{P}-ex imprimiu 'Olá, mundo' {runs} vez(es): inicie o mesmo container de novo ({GB.split('/')[-1]} start -a {P}-ex)"
          if runs else f"{P}-ex imprimiu {logs.strip()!r}, não 'Olá, mundo'")
check_11()
''',
        solution='''
!{GB} run --name {P}-ex busybox echo "Olá, mundo"
!{GB} start -a {P}-ex
check_11()
'''),
    summary(
        ['`run` = create + start (and a pull first when the image is missing); `ps` lists the running containers, `ps -a` all of them.',
         'A container that exited is still there, with its logs and read/write layer; `rm` deletes it (`-f` if it runs).',
         "`rmi` removes a tag, and the image's layers once no tag is left, from the **local** store, never from a registry; it refuses while a container uses the image."],
        ['`run` = create + start (e antes um pull, quando falta a imagem); o `ps` lista os containers rodando, o `ps -a`, todos.',
         'Um container que terminou continua lá, com os logs e a camada read/write dele; o `rm` o apaga (`-f` se estiver rodando).',
         'O `rmi` remove uma tag, e as camadas da imagem quando não sobra nenhuma tag, do armazenamento **local**, nunca de um registry; ele recusa enquanto um container usa a imagem.'],
        '[12 · limit experiments](12-limit-experiments.ipynb), predict, measure, compare.',
        '[12 · experimentos com limites](12-limit-experiments.ipynb), prever, medir, comparar.'),
    *finish(),
]
