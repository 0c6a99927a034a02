from common import code, exercise, finish, header, md, setup

SLUG = "09-volumes"

CELLS = [
    *header(
        9, "Volumes: data that outlives the container", "Volumes: dados que sobrevivem ao container",
        ["See data written in the read/write layer disappear with the container.",
         "Keep data in a named volume (`-v name:/path`) across containers.",
         "Share a host folder with a bind mount (`-v /host/dir:/path`)."],
        ["Ver dados escritos na camada read/write sumirem com o container.",
         "Guardar dados num volume nomeado (`-v nome:/caminho`) entre containers.",
         "Compartilhar uma pasta do host com um bind mount (`-v /pasta/host:/caminho`)."],
        ["volumes"],
        quote_pt="""
O Docker Host também possui um **gerenciamento de volumes**, que nos dá o poder da
persistência de dados, onde é realizado um compartilhamento de uma pasta que está na
máquina local com uma imagem. Caso o processo deste container for "morto", estes dados que
foram compartilhados não serão perdidos pois foram gravados no sistema operacional local.
""",
        quote_en="""
The Docker Host also has **volume management**, which gives us data persistence: a folder
on the local machine is shared with an image. If the container's process is "killed", the
shared data is not lost, because it was written to the local operating system.
"""),
    *setup("nb09"),
    md("""
## Without a volume

Data written to the container's own file system lives in its read/write layer, and goes
away with `--rm` (notebook 06).
""", """
## Sem volume

Dados escritos no sistema de arquivos do próprio container vivem na camada read/write e
somem com `--rm` (notebook 06).
"""),
    code('''
!{GB} run --rm busybox sh -c 'echo precious > /data.txt; cat /data.txt'
!{GB} run --rm busybox cat /data.txt
'''),
    md("""
## A named volume

`-v nb09-data:/data` mounts a volume (created on first use) at `/data`. The volume is a
directory that belongs to the Docker Host, not to the container: the first container
writes and goes away, a second one reads.
""", """
## Um volume nomeado

`-v nb09-data:/data` monta um volume (criado no primeiro uso) em `/data`. O volume é um
diretório que pertence ao Docker Host, não ao container: o primeiro container escreve e
some, um segundo lê.
"""),
    code('''
!{GB} run --rm -v {P}-data:/data busybox sh -c 'date > /data/first-run.txt; echo "written by $(hostname)" >> /data/first-run.txt'
!{GB} run --rm -v {P}-data:/data busybox cat /data/first-run.txt
!{GB} volume ls
'''),
    md("""
Where is it? `volume inspect` gives the `Mountpoint` on the host — an ordinary folder of
the local operating system, as the notes say:
""", """
Onde ele fica? O `volume inspect` dá o `Mountpoint` no host — uma pasta comum do sistema
operacional local, como dizem as notas:
"""),
    code('''
mp = json.loads(subprocess.run([GB, "volume", "inspect", P + "-data"], capture_output=True, text=True, check=True).stdout)[0]["Mountpoint"]
print("Mountpoint:", mp)
!ls -l {mp}
'''),
    md("""
Inside a running container it is a bind of that folder over `/data`; `inspect` lists it
under `Mounts`:
""", """
Dentro de um container em execução é um bind dessa pasta sobre `/data`; o `inspect` a
lista em `Mounts`:
"""),
    code('''
eng.run("busybox", ["sleep", "600"], name=P + "-reader", detach=True, volumes=[P + "-data:/data"])
print(json.dumps(eng.containers.get(P + "-reader").inspect()["Mounts"], indent=2))
!{GB} exec {P}-reader grep /data /proc/mounts
'''),
    md("""
A volume in use cannot be removed (that would lose data under a running container):
""", """
Um volume em uso não pode ser removido (perderia dados debaixo de um container rodando):
"""),
    code('''
!{GB} volume rm {P}-data
!{GB} rm -f {P}-reader
!{GB} volume rm {P}-data
!{GB} volume ls
'''),
    md("""
## A bind mount: a host folder in the container

`-v /host/dir:/path` shares an existing host folder. Both sides see the same files at
once — handy for source code or results.
""", """
## Um bind mount: uma pasta do host no container

`-v /pasta/host:/caminho` compartilha uma pasta existente do host. Os dois lados veem os
mesmos arquivos na hora — útil para código-fonte ou resultados.
"""),
    code('''
shared = tempfile.mkdtemp(prefix=P + "-bind-")
with open(os.path.join(shared, "from-host.txt"), "w") as f:
    f.write("written on the host\\n")
!{GB} run --rm -v {shared}:/work busybox sh -c 'cat /work/from-host.txt; echo "written in the container" > /work/from-container.txt'
print(sorted(os.listdir(shared)), "→", open(os.path.join(shared, "from-container.txt")).read().strip())
'''),
    *exercise(
        "Store the text `olá` in a volume named `nb09-mine` from a container named "
        "`nb09-writer`, then read it from **another** container, `nb09-reader`, and put what "
        "it printed in `answer`. Keep both containers (no `auto_remove`): the check looks at "
        "them and at the volume.",
        "Guarde o texto `olá` num volume chamado `nb09-mine` a partir de um container chamado "
        "`nb09-writer`, depois leia-o de **outro** container, `nb09-reader`, e coloque o que "
        "ele imprimiu em `answer`. Não remova os containers (sem `auto_remove`): a verificação "
        "olha para eles e para o volume.",
        attempt='''
answer = None   # your code here (eng.run(..., name=P + "-writer", volumes=[P + "-mine:/data"]))
''',
        check_fn='''
def check_09():
    """Looks at the live state: the volume, the two containers that mounted it, its files."""
    vol = P + "-mine"
    if not eng.volumes.exists(vol):
        return check(False, "", f"there is no volume {vol}: use volumes=['{vol}:/data']")
    for role in ("writer", "reader"):
        try:
            c = eng.containers.get(f"{P}-{role}")
        except NotFound:
            return check(False, "", f"there is no container {P}-{role} (see ps -a): "
                         f"name it {P}-{role} and leave out auto_remove")
        if vol not in [m.get("Name") for m in c.inspect().get("Mounts", [])]:
            return check(False, "", f"{P}-{role} did not mount the volume {vol}: volumes=['{vol}:/data']")
        if c.running or c.exit_code != 0:
            return check(False, "", f"{P}-{role} should have run one command and exited with 0 "
                         f"(it is {c.status}, code {c.exit_code})")
    stored = [open(os.path.join(b, f), errors="replace").read()
              for b, _, fs in os.walk(eng.volumes.data_dir(vol)) for f in fs]
    if not any("olá" in s for s in stored):
        return check(False, "", f"the volume holds {stored!r}: the writer should store 'olá' in a file under /data")
    text = answer.decode() if isinstance(answer, bytes) else answer
    if not isinstance(text, str) or text.strip() != "olá":
        return check(False, "", f"answer is {answer!r}: it should be what {P}-reader printed (.stdout.decode())")
    check(True, f"{P}-reader read what {P}-writer left in the volume: the data outlived its container", "")
check_09()
''', check_fn_pt='''
def check_09():
    """Olha o estado ao vivo: o volume, os dois containers que o montaram, os arquivos dele."""
    vol = P + "-mine"
    if not eng.volumes.exists(vol):
        return check(False, "", f"não existe o volume {vol}: use volumes=['{vol}:/data']")
    for role in ("writer", "reader"):
        try:
            c = eng.containers.get(f"{P}-{role}")
        except NotFound:
            return check(False, "", f"não existe o container {P}-{role} (veja o ps -a): "
                         f"chame-o de {P}-{role} e não use auto_remove")
        if vol not in [m.get("Name") for m in c.inspect().get("Mounts", [])]:
            return check(False, "", f"{P}-{role} não montou o volume {vol}: volumes=['{vol}:/data']")
        if c.running or c.exit_code != 0:
            return check(False, "", f"{P}-{role} deve rodar um comando e sair com 0 "
                         f"(ele está {c.status}, código {c.exit_code})")
    stored = [open(os.path.join(b, f), errors="replace").read()
              for b, _, fs in os.walk(eng.volumes.data_dir(vol)) for f in fs]
    if not any("olá" in s for s in stored):
        return check(False, "", f"o volume guarda {stored!r}: o writer deve gravar 'olá' num arquivo em /data")
    text = answer.decode() if isinstance(answer, bytes) else answer
    if not isinstance(text, str) or text.strip() != "olá":
        return check(False, "", f"answer é {answer!r}: deve ser o que o {P}-reader imprimiu (.stdout.decode())")
    check(True, f"{P}-reader leu o que {P}-writer deixou no volume: os dados sobreviveram ao container", "")
check_09()
''',
        solution='''
eng.run("busybox", ["sh", "-c", "echo olá > /data/msg"], name=P + "-writer", volumes=[P + "-mine:/data"])
answer = eng.run("busybox", ["cat", "/data/msg"], name=P + "-reader", volumes=[P + "-mine:/data"]).stdout.decode()
check_09()
'''),
    *finish(extra_code='shutil.rmtree(shared)'),
]
