from common import code, exercise, finish, header, md, setup, summary

SLUG = "07-registry"

CELLS = [
    *header(
        7, "The image registry: pull, build, push", "O image registry: pull, build, push",
        ["Start a real registry (Debian's `docker-registry`) on this machine.",
         "Build an image and push it; see layers the registry already has skipped.",
         "Pull: a base layer that is already here is not downloaded again (measured)."],
        ["Iniciar um registry de verdade (o `docker-registry` do Debian) nesta máquina.",
         "Construir uma imagem e enviá-la (push); ver camadas que o registry já tem serem "
         "puladas.",
         "Pull: uma camada base que já está aqui não é baixada de novo (medido)."],
        ["registry"],
        quote_pt="""
As imagens ficam dentro de um **IMAGE REGISTRY**, uma espécie de repositório do Github.

Toda vez que gero uma nova imagem através do Dockerfile, essa `FROM: ImageName` está vindo
de um registry do IMAGE REGISTRY. Ou seja, estamos dando um `pull`.

Após ter dado o `build` desta nova imagem, podemos então da um `push` com as alterações
realizadas nesta imagem e que automaticamente será "guardada" no IMAGE REGISTRY.
""",
        quote_en="""
Images live in an **IMAGE REGISTRY**, a kind of GitHub repository.

Every time I make a new image from a Dockerfile, its `FROM: ImageName` comes from an IMAGE
REGISTRY. That is, we are doing a `pull`.

After the `build` of the new image we can `push` it with its changes, and it is "stored"
in the IMAGE REGISTRY.
"""),
    *setup("nb07"),
    md("""
## A registry on 127.0.0.1

The registry is an HTTP server speaking the OCI distribution API (`/v2/...`). We start
Debian's `docker-registry` with `gj.local_registry(P)`, which takes the steps you would
take by hand: pick a free loopback port (bind port 0 and read what the kernel gave), write
a `config.yml` (storage in a temporary folder, the access log on), run
`docker-registry serve config.yml`, and ask `GET /v2/` — the API's "are you a registry?"
call — until it answers. Running the cell again gives back the same registry; the clean-up
at the end (or the kernel's exit) stops it. Nothing here talks to the internet.
""", """
## Um registry em 127.0.0.1

O registry é um servidor HTTP que fala a API de distribuição OCI (`/v2/...`). Iniciamos o
`docker-registry` do Debian com `gj.local_registry(P)`, que dá os passos que você daria à
mão: escolhe uma porta livre do loopback (faz bind na porta 0 e lê a que o kernel deu),
escreve um `config.yml` (o armazenamento numa pasta temporária, o log de acesso ligado),
roda `docker-registry serve config.yml` e pergunta `GET /v2/` — o "você é um registry?" da
API — até ele responder. Rodar a célula de novo devolve o mesmo registry; a limpeza no fim
(ou a saída do kernel) o para. Nada aqui fala com a internet.
"""),
    code('''
import urllib.request
registry = gj.local_registry(P)     # docker-registry on a free port of 127.0.0.1
REG = registry.address              # image names that start with it are pushed there
print(registry)
!cat {registry.state_dir}/config.yml
!curl -s http://{REG}/v2/_catalog
''', '''
import urllib.request
registry = gj.local_registry(P)     # o docker-registry numa porta livre de 127.0.0.1
REG = registry.address              # nomes de imagem que começam com ele são enviados para lá
print(registry)
!cat {registry.state_dir}/config.yml
!curl -s http://{REG}/v2/_catalog
'''),
    md("""
`/v2/_catalog` (the list of repositories) is an **extension**: the OCI distribution spec
defines `/v2/<name>/manifests/…`, `/v2/<name>/blobs/…` and `/v2/<name>/tags/list`, not a
catalog. Docker's registry (the one running here) offers it; Docker Hub and many cloud
registries refuse it. Tools that must work everywhere ask for a repository by name.
""", """
`/v2/_catalog` (a lista de repositórios) é uma **extensão**: a especificação de
distribuição OCI define `/v2/<nome>/manifests/…`, `/v2/<nome>/blobs/…` e
`/v2/<nome>/tags/list`, mas não um catálogo. O registry do Docker (o que está rodando aqui)
oferece; o Docker Hub e muitos registries de nuvem recusam. Ferramentas que precisam
funcionar em qualquer lugar pedem um repositório pelo nome.
"""),
    md("""
## Build: a "base" image and an "app" on top of it

`base` adds an 8 MB layer (standing in for a big dependency such as `Bash` or a language
runtime); `app` adds a tiny layer on top of `base`. Names that start with a registry host
(`127.0.0.1:PORT/...`) say where `push` sends them.
""", """
## Build: uma imagem "base" e um "app" em cima dela

A `base` acrescenta uma camada de 8 MB (no papel de uma dependência grande, como o `Bash`
ou o runtime de uma linguagem); o `app` acrescenta uma camada pequena em cima da `base`.
Nomes que começam com o host de um registry (`127.0.0.1:PORTA/...`) dizem para onde o
`push` os envia.
"""),
    code('''
ctx = tempfile.mkdtemp(prefix=P + "-ctx-")
eng.builder.build(ctx, dockerfile_text="FROM busybox\\nRUN head -c 8000000 /dev/urandom > /opt-runtime.bin\\n",
                  tags=[f"{REG}/{P}-base:1"])
eng.builder.build(ctx, dockerfile_text=f"FROM {REG}/{P}-base:1\\nRUN echo 'echo app v1' > /app.sh\\nCMD [\\"sh\\", \\"/app.sh\\"]\\n",
                  tags=[f"{REG}/{P}-app:1"])
!{GB} images
'''),
    md("""
## Push

The base first: every layer is uploaded. Then the app: the registry already has busybox's
and the base's layers, so only the new one travels (`Layer already exists` / `Mounted
from`).
""", """
## Push

Primeiro a base: todas as camadas são enviadas. Depois o app: o registry já tem as camadas
da busybox e da base, então só a nova viaja (`Layer already exists` / `Mounted from`).
"""),
    code('''
def push(ref):
    """eng.registry.push (what `glassbox push` calls), printing each layer's last status."""
    last = {}
    digest = eng.registry.push(ref, progress=lambda e: e.get("id") and last.__setitem__(e["id"], e["status"]))
    print(f"push {ref}")
    for layer, status in last.items():
        print(f"   {layer}: {status}")
    print("   manifest", digest)

push(f"{REG}/{P}-base:1")
push(f"{REG}/{P}-app:1")
!curl -s http://{REG}/v2/_catalog
!curl -s http://{REG}/v2/{P}-app/tags/list
'''),
    md("""
## Pull, and the cache

Two empty state roots play two new machines. **A** pulls the app with nothing cached:
every layer is downloaded. **B** already has the base (it pulled it before — the Docker
Host's *cache* of the notes): pulling the app, the shared layers say `Already exists` and
only the app's own layer travels. We count bytes and the registry's own access log.
""", """
## Pull, e o cache

Dois state roots vazios fazem o papel de duas máquinas novas. **A** faz pull do app sem
nada em cache: todas as camadas são baixadas. **B** já tem a base (fez pull dela antes — o
*cache* do Docker Host das notas): no pull do app, as camadas compartilhadas dizem
`Already exists` e só a camada própria do app viaja. Contamos os bytes e o log de acesso
do próprio registry.
"""),
    code('''
def blob_gets():
    return sum(1 for line in open(registry.log, errors="replace") if '"GET /v2/' in line and "/blobs/sha256:" in line)

def pull(root, ref):
    """Pull ``ref`` into the store at ``root``; print each layer's outcome; return
    (seconds, layer bytes downloaded, blob requests the registry served)."""
    engine = Engine(root)
    events, n0, t0 = [], blob_gets(), time.time()
    img = engine.registry.pull(ref, progress=events.append)
    seconds = time.time() - t0
    time.sleep(0.2)                 # the registry writes its access log after answering
    sizes = {l.digest.split(":")[1][:12]: l.size for l in img.layers}
    got = 0
    for e in events:
        if e.get("status") in ("Already exists", "Pull complete"):
            print(f"   {e['id']}: {e['status']:15} {sizes.get(e['id'], 0):>10,} B")
            got += sizes.get(e["id"], 0) if e["status"] == "Pull complete" else 0
    return seconds, got, blob_gets() - n0

machine_a = tempfile.mkdtemp(prefix=P + "-machine-a-")
machine_b = tempfile.mkdtemp(prefix=P + "-machine-b-")
print("machine A, empty: pull app")
cold = pull(machine_a, f"{REG}/{P}-app:1")
print("machine B: pull base first ...")
pull(machine_b, f"{REG}/{P}-base:1")
print("... then pull app")
warm = pull(machine_b, f"{REG}/{P}-app:1")
print()
for label, (sec, got, gets) in (("A (nothing cached)", cold), ("B (base cached)", warm)):
    print(f"{label:20} {sec:5.2f} s  {got:>10,} layer bytes downloaded  {gets} blob requests")
''', '''
def blob_gets():
    return sum(1 for line in open(registry.log, errors="replace") if '"GET /v2/' in line and "/blobs/sha256:" in line)

def pull(root, ref):
    """Faz o pull de ``ref`` no armazenamento em ``root``; mostra o resultado de cada
    camada; devolve (segundos, bytes de camadas baixados, blobs servidos pelo registry)."""
    engine = Engine(root)
    events, n0, t0 = [], blob_gets(), time.time()
    img = engine.registry.pull(ref, progress=events.append)
    seconds = time.time() - t0
    time.sleep(0.2)                 # o registry escreve o log de acesso depois de responder
    sizes = {l.digest.split(":")[1][:12]: l.size for l in img.layers}
    got = 0
    for e in events:
        if e.get("status") in ("Already exists", "Pull complete"):
            print(f"   {e['id']}: {e['status']:15} {sizes.get(e['id'], 0):>10,} B")
            got += sizes.get(e["id"], 0) if e["status"] == "Pull complete" else 0
    return seconds, got, blob_gets() - n0

machine_a = tempfile.mkdtemp(prefix=P + "-machine-a-")
machine_b = tempfile.mkdtemp(prefix=P + "-machine-b-")
print("máquina A, vazia: pull do app")
cold = pull(machine_a, f"{REG}/{P}-app:1")
print("máquina B: pull da base primeiro ...")
pull(machine_b, f"{REG}/{P}-base:1")
print("... depois pull do app")
warm = pull(machine_b, f"{REG}/{P}-app:1")
print()
for label, (sec, got, gets) in (("A (nada em cache)", cold), ("B (base em cache)", warm)):
    print(f"{label:20} {sec:5.2f} s  {got:>10,} bytes de camadas baixados  {gets} pedidos de blob")
'''),
    md("""
The notes' *pull → build → push* picture, drawn from this run: the registry's repositories
(from its API), our local store, and what travelled each way.
""", """
A figura *pull → build → push* das notas, desenhada a partir desta execução: os
repositórios do registry (pela API dele), o nosso armazenamento local, e o que viajou em
cada sentido.
"""),
    code('''
%matplotlib inline
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch
catalog = json.load(urllib.request.urlopen(f"http://{REG}/v2/_catalog"))["repositories"]
local = [t for i in eng.images.list() for t in i.repo_tags if REG in t]
fig, ax = plt.subplots(figsize=(10, 3.4))
for x, title, items, fc in [(0.02, f"IMAGE REGISTRY  {REG}", catalog, "#e8f0fe"),
                            (0.58, "Docker Host: local store (cache)", [t.split("/", 1)[1] for t in local] + ["busybox:latest"], "#fff4d6")]:
    ax.add_patch(FancyBboxPatch((x, 0.08), 0.4, 0.82, boxstyle="round,pad=0.01", fc=fc, ec="#666"))
    ax.text(x + 0.02, 0.82, title, weight="bold", fontsize=9)
    for j, it in enumerate(items):
        ax.text(x + 0.04, 0.68 - j * 0.12, it, family="monospace", fontsize=9)
ax.annotate("", (0.58, 0.62), (0.42, 0.62), arrowprops=dict(arrowstyle="->", lw=2, color="#2e7d32"))
ax.text(0.5, 0.66, f"pull\\nB: {warm[1]:,} B\\nA: {cold[1]:,} B", ha="center", fontsize=8)
ax.annotate("", (0.42, 0.3), (0.58, 0.3), arrowprops=dict(arrowstyle="->", lw=2, color="#c62828"))
ax.text(0.5, 0.34, "push", ha="center", fontsize=8)
ax.text(0.78, 0.0, "build (Dockerfile) happens here", ha="center", fontsize=8, style="italic")
ax.set_xlim(0, 1); ax.set_ylim(-0.05, 1); ax.set_axis_off()
plt.show()
''', '''
%matplotlib inline
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch
catalog = json.load(urllib.request.urlopen(f"http://{REG}/v2/_catalog"))["repositories"]
local = [t for i in eng.images.list() for t in i.repo_tags if REG in t]
fig, ax = plt.subplots(figsize=(10, 3.4))
for x, title, items, fc in [(0.02, f"IMAGE REGISTRY  {REG}", catalog, "#e8f0fe"),
                            (0.58, "Docker Host: armazenamento local (cache)", [t.split("/", 1)[1] for t in local] + ["busybox:latest"], "#fff4d6")]:
    ax.add_patch(FancyBboxPatch((x, 0.08), 0.4, 0.82, boxstyle="round,pad=0.01", fc=fc, ec="#666"))
    ax.text(x + 0.02, 0.82, title, weight="bold", fontsize=9)
    for j, it in enumerate(items):
        ax.text(x + 0.04, 0.68 - j * 0.12, it, family="monospace", fontsize=9)
ax.annotate("", (0.58, 0.62), (0.42, 0.62), arrowprops=dict(arrowstyle="->", lw=2, color="#2e7d32"))
ax.text(0.5, 0.66, f"pull\\nB: {warm[1]:,} B\\nA: {cold[1]:,} B", ha="center", fontsize=8)
ax.annotate("", (0.42, 0.3), (0.58, 0.3), arrowprops=dict(arrowstyle="->", lw=2, color="#c62828"))
ax.text(0.5, 0.34, "push", ha="center", fontsize=8)
ax.text(0.78, 0.0, "o build (Dockerfile) acontece aqui", ha="center", fontsize=8, style="italic")
ax.set_xlim(0, 1); ax.set_ylim(-0.05, 1); ax.set_axis_off()
plt.show()
'''),
    *exercise(
        "Ship **version 2** of the app: build `REG/nb07-app:2` on top of `REG/nb07-app:1` with "
        "one more layer (for example `RUN echo 'echo app v2' > /app.sh`), and push it. Before "
        "you push, predict what travels. The check asks the registry for the new manifest and "
        "reads the registry's own access log: which layer blobs were uploaded since the "
        "attempt cell started.",
        "Publique a **versão 2** do app: construa `REG/nb07-app:2` em cima de `REG/nb07-app:1` "
        "com uma camada a mais (por exemplo `RUN echo 'echo app v2' > /app.sh`) e faça o push. "
        "Antes do push, preveja o que vai viajar. A verificação pede ao registry o manifest "
        "novo e lê o próprio log de acesso do registry: quais blobs de camada foram enviados "
        "desde o início da célula de tentativa.",
        attempt='''
LOG_MARK = os.path.getsize(registry.log)   # the check reads the registry's log from here on
# your code here: eng.builder.build(ctx, dockerfile_text=..., tags=[...]), then push(...)
''',
        check_fn='''
def manifest_layers(tag):
    req = urllib.request.Request(f"http://{REG}/v2/{P}-app/manifests/{tag}", headers={"Accept":
          "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"})
    return [l["digest"] for l in json.load(urllib.request.urlopen(req))["layers"]]

def check_07():
    import re, urllib.error
    try:
        v1, v2 = manifest_layers("1"), manifest_layers("2")
    except urllib.error.HTTPError as e:
        return check(False, "", f"the registry has no {P}-app:2 yet ({e.code}): build {REG}/{P}-app:2 and push it")
    if v2[:len(v1)] != v1 or len(v2) != len(v1) + 1:
        return check(False, "", f"{P}-app:2 has {len(v2)} layers, app:1 {len(v1)}: build v2 FROM {REG}/{P}-app:1 with one RUN")
    with open(registry.log, errors="replace") as f:
        f.seek(globals().get("LOG_MARK", 0))
        sent = set(re.findall(r"PUT /v2/\\S*/blobs/uploads/\\S*digest=sha256(?:%3A|:)([0-9a-f]{64})", f.read()))
    layers_sent = [d for d in v2 if d.split(":")[1] in sent]
    check(layers_sent == v2[-1:], f"only the new layer traveled ({v2[-1][:19]}…); the {len(v1)} shared ones stayed put",
          f"layer uploads seen since the attempt cell: {len(layers_sent)} (expected just the new one)")
check_07()
''', check_fn_pt='''
def manifest_layers(tag):
    req = urllib.request.Request(f"http://{REG}/v2/{P}-app/manifests/{tag}", headers={"Accept":
          "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"})
    return [l["digest"] for l in json.load(urllib.request.urlopen(req))["layers"]]

def check_07():
    import re, urllib.error
    try:
        v1, v2 = manifest_layers("1"), manifest_layers("2")
    except urllib.error.HTTPError as e:
        return check(False, "", f"o registry ainda não tem {P}-app:2 ({e.code}): construa {REG}/{P}-app:2 e faça o push")
    if v2[:len(v1)] != v1 or len(v2) != len(v1) + 1:
        return check(False, "", f"{P}-app:2 tem {len(v2)} camadas, o app:1 {len(v1)}: construa a v2 FROM {REG}/{P}-app:1 com um RUN")
    with open(registry.log, errors="replace") as f:
        f.seek(globals().get("LOG_MARK", 0))
        sent = set(re.findall(r"PUT /v2/\\S*/blobs/uploads/\\S*digest=sha256(?:%3A|:)([0-9a-f]{64})", f.read()))
    layers_sent = [d for d in v2 if d.split(":")[1] in sent]
    check(layers_sent == v2[-1:], f"só a camada nova viajou ({v2[-1][:19]}…); as {len(v1)} compartilhadas ficaram onde estavam",
          f"envios de camada vistos desde a célula de tentativa: {len(layers_sent)} (esperado só a nova)")
check_07()
''',
        solution='''
LOG_MARK = os.path.getsize(registry.log)
eng.builder.build(ctx, dockerfile_text=f"FROM {REG}/{P}-app:1\\nRUN echo 'echo app v2' > /app.sh\\n",
                  tags=[f"{REG}/{P}-app:2"])
push(f"{REG}/{P}-app:2")
time.sleep(0.3)     # the registry writes its access log after answering
check_07()
'''),
    summary(
        ['A registry is an HTTP server speaking the OCI distribution API: repositories of tags, with manifests and blobs named by their digests.',
         '`push` uploads only the blobs the registry lacks; `pull` downloads only the layers the local store lacks.',
         '"Cache" means two things in this course: the local image store (what `pull` skips) and the build cache (notebook 05).'],
        ['Um registry é um servidor HTTP que fala a API de distribuição OCI: repositórios de tags, com manifests e blobs nomeados pelos seus digests.',
         'O `push` envia só os blobs que faltam no registry; o `pull` baixa só as camadas que faltam no armazenamento local.',
         '"Cache" quer dizer duas coisas neste curso: o armazenamento local de imagens (o que o `pull` pula) e o cache de build (notebook 05).'],
        '[08 · Docker Host and Docker Client](08-docker-host-and-client.ipynb), the API behind the CLI.',
        '[08 · Docker Host e Docker Client](08-docker-host-and-client.ipynb), a API por trás da CLI.'),
    *finish(
        "The registry process we started is stopped and its storage deleted.",
        "O processo do registry que iniciamos é parado e o armazenamento dele apagado.",
        extra_code='''
registry.stop()       # the process ends; its folder (storage, log) is deleted
print(registry)
shutil.rmtree(ctx)
shutil.rmtree(machine_a)
shutil.rmtree(machine_b)
''', extra_code_pt={"# the process ends; its folder (storage, log) is deleted":
                    "# o processo termina; a pasta dele (armazenamento, log) é apagada"}),
]
