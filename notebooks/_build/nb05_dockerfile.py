from common import code, exercise, finish, header, md, notes_vs_kernel, setup, summary

SLUG = "05-dockerfile"

CELLS = [
    *header(
        5, "The Dockerfile: building an image", "O Dockerfile: construindo uma imagem",
        ["Write a Dockerfile with `FROM`, `RUN`, `EXPOSE` and friends, and build it.",
         "See what the notes' `FROM: ImageName` form does (a clear error, not an image).",
         "See one Dockerfile line become one layer (or one config change), and the cache."],
        ["Escrever um Dockerfile com `FROM`, `RUN`, `EXPOSE` e companhia, e construí-lo.",
         "Ver o que a forma `FROM: ImageName` das notas faz (um erro claro, não uma imagem).",
         "Ver cada linha do Dockerfile virar uma camada (ou uma mudança de config), e o cache."],
        ["build"],
        quote_pt="""
Na composição do arquivo Dockerfile, existe uma linha de comando inicial que seria o
`FROM: ImageName`. [...] o Dockerfile disponibiliza uma linha com o comando
`RUN: <comando>` para executar qualquer coisa, no nosso caso, um
`RUN: apt-get install apache2`.

Podemos também expor portas específicas nesta imagem para termos acesso a este container
via linha `EXPOSE: <numero-porta>`.

Portanto, o arquivo Dockerfile é utilizado para **construir a imagem**.
""",
        quote_en="""
In a Dockerfile there is a first line, `FROM: ImageName`. [...] the Dockerfile has a line
`RUN: <command>` to run anything, in our case `RUN: apt-get install apache2`.

We can also expose specific ports of the image, to reach the container, with a line
`EXPOSE: <port-number>`.

So the Dockerfile is used to **build the image**.
"""),
    *setup("nb05"),
    code('''
%load_ext glassbox
from glassbox.errors import BuildError
ctx = tempfile.mkdtemp(prefix=P + "-ctx-")      # the build context: files COPY can use
with open(os.path.join(ctx, "index.html"), "w") as f:
    f.write("<h1>built from a Dockerfile</h1>\\n")
print("context:", ctx, os.listdir(ctx))
''', '''
%load_ext glassbox
from glassbox.errors import BuildError
ctx = tempfile.mkdtemp(prefix=P + "-ctx-")      # the build context: files COPY can use
with open(os.path.join(ctx, "index.html"), "w") as f:
    f.write("<h1>built from a Dockerfile</h1>\\n")
print("contexto:", ctx, os.listdir(ctx))
'''),
    md("""
## First: the notes' form, with colons

The notes write `FROM: ImageName` and `RUN: <command>`. Real Dockerfile instructions take
**no colon**. glassbox's parser says so, with the line number — the build stops before
doing anything:
""", """
## Primeiro: a forma das notas, com dois-pontos

As notas escrevem `FROM: ImageName` e `RUN: <comando>`. As instruções reais do Dockerfile
**não levam dois-pontos**. O parser do glassbox diz isso, com o número da linha — o build
para antes de fazer qualquer coisa:
"""),
    code('''
try:
    eng.builder.build(ctx, dockerfile_text="FROM: busybox\\nRUN: echo hello\\nEXPOSE: 80\\n", tags=[P + "-colon:1"])
except BuildError as e:
    print("BuildError:", e)
print("image made?", eng.images.exists(P + "-colon:1"))
''', '''
try:
    eng.builder.build(ctx, dockerfile_text="FROM: busybox\\nRUN: echo hello\\nEXPOSE: 80\\n", tags=[P + "-colon:1"])
except BuildError as e:
    print("BuildError:", e)
print("imagem criada?", eng.images.exists(P + "-colon:1"))
'''),
    md("""
## The real syntax

`INSTRUCTION arguments`, one per line. The ones you will meet first:

| instruction | what it does | makes a layer? |
| --- | --- | --- |
| `FROM image` | the base: start from this image's layers | (uses its layers) |
| `RUN command` | run a command in a container, keep its changes | **yes** |
| `COPY src dest` | copy files from the build context | **yes** |
| `WORKDIR /dir` | the working directory for what follows | config |
| `ENV K=V` | environment variable | config |
| `EXPOSE port` | documents the port the app listens on | config |
| `CMD [...]` | the default command of a container | config |

`%%dockerfile -t NAME` builds the cell (here with our context folder). `apt-get install
apache2` would need the internet; busybox already has a small web server, `httpd`.
""", """
## A sintaxe real

`INSTRUÇÃO argumentos`, uma por linha. As primeiras que você vai encontrar:

| instrução | o que faz | cria camada? |
| --- | --- | --- |
| `FROM imagem` | a base: começa das camadas dessa imagem | (usa as camadas dela) |
| `RUN comando` | roda um comando num container e guarda as mudanças | **sim** |
| `COPY origem destino` | copia arquivos do contexto de build | **sim** |
| `WORKDIR /dir` | o diretório de trabalho do que vem depois | config |
| `ENV K=V` | variável de ambiente | config |
| `EXPOSE porta` | documenta a porta em que a aplicação escuta | config |
| `CMD [...]` | o comando padrão de um container | config |

`%%dockerfile -t NOME` constrói a célula (aqui com a nossa pasta de contexto). Um
`apt-get install apache2` precisaria de internet; a busybox já tem um pequeno servidor web,
o `httpd`.
"""),
    code('''
%%dockerfile -t nb05-web:1 --context {ctx}
FROM busybox
RUN mkdir -p /www && echo "built at $(date)" > /www/built.txt
WORKDIR /www
COPY index.html /www/index.html
ENV GREETING="hello from the image"
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
'''),
    md("""
## Dockerfile → image

Each instruction became one history entry: `RUN` and `COPY` made layers (with a size);
the others only changed the config (`empty_layer`). Drawn from the image's own history:
""", """
## Dockerfile → imagem

Cada instrução virou uma entrada no histórico: `RUN` e `COPY` criaram camadas (com
tamanho); as outras só mudaram a config (`empty_layer`). Desenhado a partir do histórico
da própria imagem:
"""),
    code('''
%matplotlib inline
import matplotlib.pyplot as plt
img = eng.images.resolve(P + "-web:1")
hist = img.config["history"]
layers = iter(img.layers)
fig, ax = plt.subplots(figsize=(10, 0.55 * len(hist) + 0.6))
for i, h in enumerate(reversed(hist)):
    y = i
    step = (h.get("created_by") or h.get("comment") or "").replace("/bin/sh -c #(nop) ", "").replace("/bin/sh -c ", "RUN ")
    ax.text(0.0, y, step[:60], va="center", family="monospace", fontsize=8.5)
for i, h in enumerate(hist):
    y = len(hist) - 1 - i
    if h.get("empty_layer"):
        ax.text(0.72, y, "config only", va="center", fontsize=8.5, color="#777")
    else:
        l = next(layers)
        ax.text(0.72, y, f"layer {l.diff_id[7:19]}  {l.size:,} B", va="center", fontsize=8.5,
                bbox=dict(fc="#ffe9b3" if i else "#cfe3ff", ec="#666"))
    ax.annotate("", (0.70, y), (0.64, y), arrowprops=dict(arrowstyle="->", color="#999"))
ax.set_xlim(0, 1); ax.set_ylim(-0.7, len(hist) - 0.3); ax.set_axis_off()
ax.set_title(f"{P}-web:1  ←  Dockerfile (top line = last instruction)", fontsize=10)
plt.show()
cfg = img.container_config
print("Config:", {k: cfg.get(k) for k in ("Cmd", "WorkingDir", "Env", "ExposedPorts")})
''', '''
%matplotlib inline
import matplotlib.pyplot as plt
img = eng.images.resolve(P + "-web:1")
hist = img.config["history"]
layers = iter(img.layers)
fig, ax = plt.subplots(figsize=(10, 0.55 * len(hist) + 0.6))
for i, h in enumerate(reversed(hist)):
    y = i
    step = (h.get("created_by") or h.get("comment") or "").replace("/bin/sh -c #(nop) ", "").replace("/bin/sh -c ", "RUN ")
    ax.text(0.0, y, step[:60], va="center", family="monospace", fontsize=8.5)
for i, h in enumerate(hist):
    y = len(hist) - 1 - i
    if h.get("empty_layer"):
        ax.text(0.72, y, "só config", va="center", fontsize=8.5, color="#777")
    else:
        l = next(layers)
        ax.text(0.72, y, f"camada {l.diff_id[7:19]}  {l.size:,} B", va="center", fontsize=8.5,
                bbox=dict(fc="#ffe9b3" if i else "#cfe3ff", ec="#666"))
    ax.annotate("", (0.70, y), (0.64, y), arrowprops=dict(arrowstyle="->", color="#999"))
ax.set_xlim(0, 1); ax.set_ylim(-0.7, len(hist) - 0.3); ax.set_axis_off()
ax.set_title(f"{P}-web:1  ←  Dockerfile (linha de cima = última instrução)", fontsize=10)
plt.show()
cfg = img.container_config
print("Config:", {k: cfg.get(k) for k in ("Cmd", "WorkingDir", "Env", "ExposedPorts")})
'''),
    md("""
## Run it

`EXPOSE` only *documents* the port. The container listens on 8080 inside its own network
namespace; to reach it from outside you publish it with `-p` (notebook 10 connects
containers). Here we ask from inside the container itself:
""", """
## Rodando

O `EXPOSE` só *documenta* a porta. O container escuta na 8080 dentro do seu próprio
namespace de rede; para chegar nele de fora você a publica com `-p` (o notebook 10
conecta containers). Aqui perguntamos de dentro do próprio container:
"""),
    code('''
eng.run(P + "-web:1", name=P + "-web", detach=True)
time.sleep(0.3)
!{GB} exec {P}-web wget -qO- http://127.0.0.1:8080/
!{GB} exec {P}-web sh -c 'pwd; echo $GREETING; cat built.txt'
'''),
    md("""
## The build cache

Build again: every step is `CACHED` — same base, same instruction, same files → the
layer is reused, nothing runs. Change an instruction, or a file that a `COPY` reads (its
checksum is part of the cache key), and the steps from there on run again: below we change
`index.html`.
""", """
## O cache de build

Construa de novo: todo passo sai `CACHED` — mesma base, mesma instrução, mesmos arquivos →
a camada é reaproveitada, nada roda. Mude uma instrução, ou um arquivo que um `COPY` lê (o
checksum dele entra na chave do cache), e os passos a partir dali rodam de novo: abaixo
mudamos o `index.html`.
"""),
    code('''
DOCKERFILE = open(os.path.join(ctx, "Dockerfile"), "w")
DOCKERFILE.write("""FROM busybox
RUN mkdir -p /www && echo "built at $(date)" > /www/built.txt
WORKDIR /www
COPY index.html /www/index.html
ENV GREETING="hello from the image"
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
""")
DOCKERFILE.close()
t0 = time.time()
!{GB} build -t {P}-web:1 {ctx}
print(f"rebuild: {time.time() - t0:.2f} s")
with open(os.path.join(ctx, "index.html"), "w") as f:
    f.write("<h1>changed</h1>\\n")
!{GB} build -t {P}-web:2 {ctx}
''', '''
DOCKERFILE = open(os.path.join(ctx, "Dockerfile"), "w")
DOCKERFILE.write("""FROM busybox
RUN mkdir -p /www && echo "built at $(date)" > /www/built.txt
WORKDIR /www
COPY index.html /www/index.html
ENV GREETING="hello from the image"
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
""")
DOCKERFILE.close()
t0 = time.time()
!{GB} build -t {P}-web:1 {ctx}
print(f"novo build: {time.time() - t0:.2f} s")
with open(os.path.join(ctx, "index.html"), "w") as f:
    f.write("<h1>changed</h1>\\n")
!{GB} build -t {P}-web:2 {ctx}
'''),
    md("""
### The cache does not know what time it is

`RUN ... $(date)` ran once, at the first build. Every cached rebuild reuses that layer, so
`built.txt` keeps the **first** date — in `web:1`, in `web:2` (built a minute later),
forever. The cache key is the instruction's text and its parent, not what the command
would print today. `--no-cache` runs every step again.
""", """
### O cache não sabe que horas são

O `RUN ... $(date)` rodou uma vez, no primeiro build. Todo rebuild com cache reaproveita
essa camada, então o `built.txt` guarda a **primeira** data — no `web:1`, no `web:2`
(construído depois), para sempre. A chave do cache é o texto da instrução e a camada de
baixo, não o que o comando imprimiria hoje. O `--no-cache` roda todos os passos de novo.
"""),
    code('''
!{GB} run --rm {P}-web:1 cat /www/built.txt
!{GB} run --rm {P}-web:2 cat /www/built.txt
!{GB} build -q --no-cache -t {P}-web:3 {ctx}
!{GB} run --rm {P}-web:3 cat /www/built.txt
'''),
    notes_vs_kernel(
        "\"an initial image is something blank — scratch\", and `FROM` \"gives the command to "
        "download this image\"; \"every time ... we are doing a pull\".",
        "`FROM scratch` is real: it means *no* base, zero layers; the image holds only what "
        "you `COPY` in. Below, one static binary (the host's busybox) is a whole image, with "
        "no shell in it. And `FROM` pulls only a base that is **not** in the local store "
        "(like `run`): `FROM busybox` above never touched a registry. A missing base is pulled "
        "— here from a registry that is not there, so the build says so.",
        "\"uma imagem inicial é algo em branco - scratch\", e o `FROM` \"dá o comando de "
        "baixar esta imagem\"; \"toda vez ... estamos dando um pull\".",
        "O `FROM scratch` existe: quer dizer *nenhuma* base, zero camadas; a imagem só tem o "
        "que você colocar com `COPY`. Abaixo, um único binário estático (o busybox do host) é "
        "uma imagem inteira, sem shell nenhum dentro. E o `FROM` só faz pull de uma base que "
        "**não** está no armazenamento local (como o `run`): o `FROM busybox` acima nunca "
        "falou com um registry. Uma base ausente é baixada — aqui de um registry que não "
        "existe, então o build avisa."),
    code('''
scratch_ctx = tempfile.mkdtemp(prefix=P + "-scratch-")
shutil.copy("/bin/busybox", scratch_ctx)
with open(os.path.join(scratch_ctx, "Dockerfile"), "w") as f:
    f.write('FROM scratch\\nCOPY busybox /busybox\\nCMD ["/busybox", "echo", "hello from scratch"]\\n')
!{GB} build -q -t {P}-scratch:1 {scratch_ctx}
!{GB} run --rm {P}-scratch:1
!{GB} history {P}-scratch:1
!{GB} run --rm {P}-scratch:1 sh -c 'echo is there a shell?'
with open(os.path.join(scratch_ctx, "Dockerfile"), "w") as f:
    f.write("FROM 127.0.0.1:1/{P}-missing:1\\n".replace("{P}", P))
!{GB} build -t {P}-missing {scratch_ctx}
shutil.rmtree(scratch_ctx)
'''),
    md("""
### `ENTRYPOINT` and `CMD`

`CMD` is the **default command**: any arguments after the image name replace it all.
`ENTRYPOINT` is the **program**; `CMD` then only supplies its default arguments, and
arguments after the image name replace just those.
""", """
### `ENTRYPOINT` e `CMD`

O `CMD` é o **comando padrão**: quaisquer argumentos depois do nome da imagem o substituem
por inteiro. O `ENTRYPOINT` é o **programa**; aí o `CMD` só fornece os argumentos padrão
dele, e argumentos depois do nome da imagem substituem só esses.
"""),
    code('''
eng.builder.build(ctx, dockerfile_text='FROM busybox\\nCMD ["echo", "hello", "world"]\\n', tags=[P + "-cmd:1"])
eng.builder.build(ctx, dockerfile_text='FROM busybox\\nENTRYPOINT ["echo", "hello"]\\nCMD ["world"]\\n',
                  tags=[P + "-ep:1"])
!{GB} run --rm {P}-cmd:1
!{GB} run --rm {P}-cmd:1 date +%Y
!{GB} run --rm {P}-ep:1
!{GB} run --rm {P}-ep:1 class
'''),
    *exercise(
        "Build an image `nb05-hello:1` from a Dockerfile (real syntax!) so that "
        "`glassbox run --rm nb05-hello:1` prints `olá`, and `glassbox run --rm nb05-hello:1 turma` "
        "prints `olá turma`: the arguments after the image name are *added* to the greeting, "
        "not a new command. Which instruction makes that possible, `CMD` or `ENTRYPOINT`?",
        "Construa uma imagem `nb05-hello:1` a partir de um Dockerfile (sintaxe real!) para "
        "que `glassbox run --rm nb05-hello:1` imprima `olá`, e `glassbox run --rm nb05-hello:1 turma` "
        "imprima `olá turma`: os argumentos depois do nome da imagem são *acrescentados* à "
        "saudação, não um comando novo. Qual instrução torna isso possível, `CMD` ou `ENTRYPOINT`?",
        attempt='''
my_dockerfile = """FROM: busybox
CMD: echo olá
"""
try:
    eng.builder.build(ctx, dockerfile_text=my_dockerfile, tags=[P + "-hello:1"])
except BuildError as e:
    print("BuildError:", e)
''',
        check_fn='''
def check_05():
    if not eng.images.exists(P + "-hello:1"):
        return check(False, "", f"no image {P}-hello:1: did the build fail? Instructions take no colon")
    alone = eng.run(P + "-hello:1", auto_remove=True).stdout.decode().strip()
    if alone != "olá":
        return check(False, "", f"run {P}-hello:1 printed {alone!r}, not olá: the image must run echo olá")
    try:
        more = eng.run(P + "-hello:1", ["turma"], auto_remove=True).stdout.decode().strip()
    except GlassboxError as e:
        more = f"an error: {e}"
    check(more == "olá turma", "ENTRYPOINT is the program (echo olá); the arguments after the image name are added to it",
          f"run {P}-hello:1 turma printed {more!r}: arguments replace the CMD; make echo olá the ENTRYPOINT")
check_05()
''', check_fn_pt='''
def check_05():
    if not eng.images.exists(P + "-hello:1"):
        return check(False, "", f"não há imagem {P}-hello:1: o build falhou? Instruções não levam dois-pontos")
    alone = eng.run(P + "-hello:1", auto_remove=True).stdout.decode().strip()
    if alone != "olá":
        return check(False, "", f"run {P}-hello:1 imprimiu {alone!r}, não olá: a imagem precisa rodar echo olá")
    try:
        more = eng.run(P + "-hello:1", ["turma"], auto_remove=True).stdout.decode().strip()
    except GlassboxError as e:
        more = f"um erro: {e}"
    check(more == "olá turma", "o ENTRYPOINT é o programa (echo olá); os argumentos depois do nome da imagem são acrescentados a ele",
          f"run {P}-hello:1 turma imprimiu {more!r}: argumentos substituem o CMD; faça do echo olá o ENTRYPOINT")
check_05()
''',
        solution='''
eng.builder.build(ctx, dockerfile_text='FROM busybox\\nENTRYPOINT ["echo", "olá"]\\n', tags=[P + "-hello:1"])
check_05()
'''),
    summary(
        ["A Dockerfile's instructions take no colon (`FROM busybox`, not `FROM: busybox`); the ones that change files become layers, the others only change the config.",
         'The build cache reuses a step when it and every step before it are unchanged, even when running it again would give another result (`RUN date`).',
         '`FROM scratch` is the empty base; `FROM` pulls a base only when it is missing from the local store; `ENTRYPOINT` is the program and `CMD` its default arguments; `EXPOSE` documents a port, `-p` publishes it.'],
        ['As instruções de um Dockerfile não levam dois-pontos (`FROM busybox`, não `FROM: busybox`); as que mudam arquivos viram camadas, as outras só mudam a config.',
         'O cache de build reaproveita um passo quando ele e todos os anteriores não mudaram, mesmo que rodá-lo de novo desse outro resultado (`RUN date`).',
         '`FROM scratch` é a base vazia; o `FROM` só faz pull de uma base que falta no armazenamento local; o `ENTRYPOINT` é o programa e o `CMD`, os argumentos padrão dele; o `EXPOSE` documenta uma porta, o `-p` a publica.'],
        '[06 · the read/write layer](06-read-write-layer.ipynb), where a container writes.',
        '[06 · a camada read/write](06-read-write-layer.ipynb), onde um container escreve.'),
    *finish(extra_code='shutil.rmtree(ctx)'),
]
