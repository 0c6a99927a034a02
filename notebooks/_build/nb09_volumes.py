from common import code, code_pt, exercise, finish, header, md, setup, summary

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
Um volume em uso não pode ser removido (isso apagaria dados que um container em execução
ainda está usando):
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
    code_pt('''
shared = tempfile.mkdtemp(prefix=P + "-bind-")
with open(os.path.join(shared, "from-host.txt"), "w") as f:
    f.write("written on the host\\n")
!{GB} run --rm -v {shared}:/work busybox sh -c 'cat /work/from-host.txt; echo "written in the container" > /work/from-container.txt'
print(sorted(os.listdir(shared)), "→", open(os.path.join(shared, "from-container.txt")).read().strip())
''', {"written on the host": "escrito no host", "written in the container": "escrito no container"}),
    *exercise(
        "A variation: the same volume, **read-only** for one of its users. A container "
        "`nb09-writer` stores `olá` in `/data/msg` of a volume `nb09-mine`; then a container "
        "`nb09-reader` mounts the same volume **read-only** at `/data` (`nb09-mine:/data:ro`), "
        "prints `/data/msg` and then tries to write `/data/x`. Keep both containers (no "
        "`auto_remove`). The check looks at their mounts, at what the kernel answered the "
        "reader's write, and at the files in the volume.",
        "Uma variação: o mesmo volume, **somente leitura** para um dos usuários. Um container "
        "`nb09-writer` grava `olá` em `/data/msg` de um volume `nb09-mine`; depois um "
        "container `nb09-reader` monta o mesmo volume **somente leitura** em `/data` "
        "(`nb09-mine:/data:ro`), imprime `/data/msg` e tenta escrever `/data/x`. Não remova os "
        "containers (sem `auto_remove`). A verificação olha as montagens deles, o que o kernel "
        "respondeu à escrita do reader e os arquivos do volume.",
        attempt='''
# your code here: eng.run(..., name=P + "-writer", volumes=[...]), then the reader
''',
        check_fn='''
def check_09():
    """Looks at the live state: the volume, the two containers' mounts, the reader's log."""
    vol = P + "-mine"
    if not eng.volumes.exists(vol):
        return check(False, "", f"there is no volume {vol}: use volumes=['{vol}:/data']")
    mounts = {}
    for role in ("writer", "reader"):
        try:
            c = eng.containers.get(f"{P}-{role}")
        except NotFound:
            return check(False, "", f"there is no container {P}-{role} (see ps -a): name it {P}-{role}, no auto_remove")
        m = [m for m in c.inspect().get("Mounts", []) if m.get("Name") == vol]
        if not m:
            return check(False, "", f"{P}-{role} did not mount the volume {vol}")
        mounts[role] = (c, m[0])
    if not mounts["writer"][1]["RW"]:
        return check(False, "", f"{P}-writer mounted {vol} read-only: it could not write olá")
    reader, m = mounts["reader"]
    if m["RW"]:
        return check(False, "", f"{P}-reader mounted {vol} read-write: add :ro ({vol}:/data:ro)")
    files = sorted(os.listdir(eng.volumes.data_dir(vol)))
    log = subprocess.run([GB, "logs", reader.id], capture_output=True, text=True)
    said = log.stdout + log.stderr
    if "olá" not in said or "x" in files:
        return check(False, "", f"{P}-reader printed {said.strip()!r}, the volume holds {files}: "
                     "cat /data/msg, then echo x > /data/x")
    check("Read-only file system" in said, f"{P}-reader read olá and the kernel refused its write "
          "(EROFS): one volume, mounted ro for one container and rw for another",
          f"the reader's write was not refused by the kernel: {said.strip()!r}")
check_09()
''', check_fn_pt='''
def check_09():
    """Olha o estado ao vivo: o volume, as montagens dos dois containers, o log do reader."""
    vol = P + "-mine"
    if not eng.volumes.exists(vol):
        return check(False, "", f"não existe o volume {vol}: use volumes=['{vol}:/data']")
    mounts = {}
    for role in ("writer", "reader"):
        try:
            c = eng.containers.get(f"{P}-{role}")
        except NotFound:
            return check(False, "", f"não existe o container {P}-{role} (veja o ps -a): chame-o de {P}-{role}, sem auto_remove")
        m = [m for m in c.inspect().get("Mounts", []) if m.get("Name") == vol]
        if not m:
            return check(False, "", f"{P}-{role} não montou o volume {vol}")
        mounts[role] = (c, m[0])
    if not mounts["writer"][1]["RW"]:
        return check(False, "", f"{P}-writer montou {vol} somente leitura: não poderia gravar olá")
    reader, m = mounts["reader"]
    if m["RW"]:
        return check(False, "", f"{P}-reader montou {vol} para leitura e escrita: acrescente :ro ({vol}:/data:ro)")
    files = sorted(os.listdir(eng.volumes.data_dir(vol)))
    log = subprocess.run([GB, "logs", reader.id], capture_output=True, text=True)
    said = log.stdout + log.stderr
    if "olá" not in said or "x" in files:
        return check(False, "", f"{P}-reader imprimiu {said.strip()!r}, o volume guarda {files}: "
                     "cat /data/msg, depois echo x > /data/x")
    check("Read-only file system" in said, f"{P}-reader leu olá e o kernel recusou a escrita dele "
          "(EROFS): um volume, montado ro para um container e rw para outro",
          f"a escrita do reader não foi recusada pelo kernel: {said.strip()!r}")
check_09()
''',
        solution='''
eng.run("busybox", ["sh", "-c", "echo olá > /data/msg"], name=P + "-writer", volumes=[P + "-mine:/data"])
eng.run("busybox", ["sh", "-c", "cat /data/msg; echo x > /data/x"], name=P + "-reader",
        volumes=[P + "-mine:/data:ro"])
check_09()
'''),
    summary(
        ['Without a volume, what a container writes lives in its read/write layer and goes away with `rm`.',
         'A named volume is a host directory mounted into containers: it outlives them, another container can read it, and it cannot be removed while in use.',
         'A bind mount puts a host folder inside the container: both sides see the same files.'],
        ['Sem volume, o que um container escreve fica na camada read/write dele e vai embora com o `rm`.',
         'Um volume nomeado é um diretório do host montado nos containers: ele sobrevive a eles, outro container pode lê-lo, e ele não pode ser removido enquanto está em uso.',
         'Um bind mount coloca uma pasta do host dentro do container: os dois lados veem os mesmos arquivos.'],
        '[10 · networks](10-networks.ipynb), containers talking to each other.',
        '[10 · redes](10-networks.ipynb), containers conversando entre si.'),
    *finish(extra_code='shutil.rmtree(shared)'),
]
