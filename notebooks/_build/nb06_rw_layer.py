from common import code, exercise, finish, header, md, notes_vs_kernel, setup, summary

SLUG = "06-read-write-layer"

CELLS = [
    *header(
        6, "The read/write layer and commit", "A camada read/write e o commit",
        ["Write inside a container and find the change in its read/write layer (UpperDir).",
         "See that the image did not change, and that removing the container removes the "
         "changes.",
         "Turn a container's changes into a new image version with `commit`."],
        ["Escrever dentro de um container e achar a mudança na camada read/write (UpperDir).",
         "Ver que a imagem não mudou, e que remover o container remove as mudanças.",
         "Transformar as mudanças de um container numa nova versão de imagem com `commit`."],
        ["containers", "rootfs"],
        quote_pt="""
Quando subimos um container, é criado junto a ele uma camada chamada **CAMADA
READ/WRITE**. Note que não estamos fazendo alterações na imagem, mas apenas aplicando
alterações através desta camada sem alterar a imagem. [...]
Então quando "matarmos" este processo **serão apagadas também todas as alterações que
fizemos através desta camada READ/WRITE**. [...]
o Docker dá a possibilidade de, a partir desta imagem "alterada" criar uma outra imagem com
uma versão diferenciada (*commit*).
""",
        quote_en="""
When we start a container, a layer called the **READ/WRITE LAYER** is created with it.
Note that we are not changing the image, only applying changes through this layer
without changing the image. [...]
So when we "kill" this process, **all the changes we made through this READ/WRITE layer are
deleted too**. [...]
Docker lets us create, from this "changed" image, another image with a different version
(*commit*).
"""),
    *setup("nb06"),
    md("""
## Write in a container

A container writes a file, changes one, and deletes one. Its read/write layer is the
overlay's `upper` directory (notebook 03); `inspect` names it `GraphDriver.Data.UpperDir`.
""", """
## Escrever num container

Um container escreve um arquivo, altera outro e apaga um terceiro. A camada read/write
dele é o diretório `upper` do overlay (notebook 03); o `inspect` a chama de
`GraphDriver.Data.UpperDir`.
"""),
    code('''
eng.run("busybox", ["sh", "-c", "echo hello > /hello.txt; echo changed >> /etc/passwd; rm /bin/vi; sleep 600"],
        name=P + "-rw", detach=True)
time.sleep(0.3)
upper = eng.containers.get(P + "-rw").inspect()["GraphDriver"]["Data"]["UpperDir"]
print("UpperDir =", upper)
!find {upper} -exec ls -ld {{}} +
'''),
    md("""
`glassbox diff` reads the same directory and reports **A**dded, **C**hanged, **D**eleted
(`D` is a whiteout):
""", """
O `glassbox diff` lê o mesmo diretório e informa **A** (adicionado), **C** (alterado),
**D** (apagado — um whiteout):
"""),
    code('''
!{GB} diff {P}-rw
'''),
    md("""
The image is **immutable**: a second container of the same image sees none of it.
""", """
A imagem é **imutável**: um segundo container da mesma imagem não vê nada disso.
"""),
    code('''
out = eng.run("busybox", ["sh", "-c", "cat /hello.txt; ls /bin/vi; tail -1 /etc/passwd"], auto_remove=True)
print(out.stdout.decode(), out.stderr.decode())
'''),
    md("""
The notes' picture *process — read/write layer*, drawn from the store: the image's layer
below, this container's read/write layer on top.
""", """
A figura *processo — camada read/write* das notas, desenhada a partir do armazenamento: a
camada da imagem embaixo, a camada read/write deste container em cima.
"""),
    code('''
import glassbox.jupyter as gj
gj.layers("busybox", container=P + "-rw")
'''),
    notes_vs_kernel(
        "when we \"kill\" the process, all the changes made through the read/write layer "
        "are deleted.",
        "Killing or stopping the process **keeps** the read/write layer: the container is "
        "*exited*, its `upper` directory stays on disk, and `start` runs it again on top of "
        "the same changes. Only `rm` (or `run --rm`) deletes them. The cells below show it.",
        "quando \"matarmos\" o processo, serão apagadas todas as alterações feitas pela camada "
        "read/write.",
        "Matar ou parar o processo **mantém** a camada read/write: o container fica "
        "*exited*, o diretório `upper` dele continua no disco, e o `start` o roda de novo em "
        "cima das mesmas mudanças. Só o `rm` (ou `run --rm`) as apaga. As células abaixo "
        "mostram isso."),
    code('''
!{GB} exec {P}-rw sh -c 'echo "written by exec" > /kept.txt'
!{GB} kill {P}-rw
print("status after kill:", eng.containers.get(P + "-rw").status,
      "· /kept.txt still in UpperDir:", os.path.exists(os.path.join(upper, "kept.txt")))
!{GB} start {P}-rw
!{GB} exec {P}-rw cat /kept.txt
''', '''
!{GB} exec {P}-rw sh -c 'echo "written by exec" > /kept.txt'
!{GB} kill {P}-rw
print("status depois do kill:", eng.containers.get(P + "-rw").status,
      "· /kept.txt ainda no UpperDir:", os.path.exists(os.path.join(upper, "kept.txt")))
!{GB} start {P}-rw
!{GB} exec {P}-rw cat /kept.txt
'''),
    md("""
## Remove the container: the changes are gone

`rm` deletes the container's directory, `upper` included. Nothing went into the image.
""", """
## Remover o container: as mudanças somem

O `rm` apaga o diretório do container, `upper` incluído. Nada foi para a imagem.
"""),
    code('''
!{GB} rm -f {P}-rw
print("UpperDir still exists?", os.path.exists(upper))
''', '''
!{GB} rm -f {P}-rw
print("UpperDir ainda existe?", os.path.exists(upper))
'''),
    md("""
## `commit`: the changes become a new image version

Commit packs the read/write layer into a tarball, stores it as a new layer, and writes a
new image config: the base image's layers **plus** that one. It is the second way of
making an image (the first is a Dockerfile, notebook 05).
""", """
## `commit`: as mudanças viram uma nova versão da imagem

O commit empacota a camada read/write num tarball, guarda-o como uma camada nova e escreve
uma nova config de imagem: as camadas da imagem base **mais** essa. É a segunda forma de
criar uma imagem (a primeira é o Dockerfile, notebook 05).
"""),
    code('''
!{GB} run --name {P}-greeter busybox sh -c 'echo "hello from version 2" > /greeting'
!{GB} commit -m "add /greeting" -c 'CMD ["cat", "/greeting"]' {P}-greeter {P}-box:2
!{GB} run --rm {P}-box:2
!{GB} history {P}-box:2
'''),
    md("""
The notes' *commit* picture from the store: `busybox` and `box:2` share the base layer;
`box:2` adds exactly the layer the container wrote.
""", """
A figura de *commit* das notas, a partir do armazenamento: `busybox` e `box:2` compartilham
a camada base; `box:2` acrescenta exatamente a camada que o container escreveu.
"""),
    code('''
gj.layers("busybox", P + "-box:2", container=P + "-greeter")
'''),
    *exercise(
        "The notes commit a container **that is running**. Start a detached container "
        "`nb06-live` from busybox that writes `welcome` into `/etc/motd` and then keeps "
        "running (`sleep 600`). While it runs, commit it as `nb06-motd:1` with the default "
        "command `cat /etc/motd` (`eng.commit(id, tag, changes=['CMD [\"cat\", \"/etc/motd\"]'])`, "
        "or `glassbox commit -c 'CMD [...]'`). The check runs the image with no command, looks "
        "at its history, and at `nb06-live`, which must still be running.",
        "As notas fazem commit de um container **que está rodando**. Inicie em segundo plano "
        "um container `nb06-live` da busybox que escreve `welcome` em `/etc/motd` e continua "
        "rodando (`sleep 600`). Com ele rodando, faça commit dele como `nb06-motd:1` com o "
        "comando padrão `cat /etc/motd` (`eng.commit(id, tag, changes=['CMD [\"cat\", "
        "\"/etc/motd\"]'])`, ou `glassbox commit -c 'CMD [...]'`). A verificação roda a "
        "imagem sem comando, olha o histórico dela e o `nb06-live`, que precisa continuar "
        "rodando.",
        attempt='''
# your code here: eng.run(..., detach=True), then commit it while it runs
''',
        check_fn='''
def check_06():
    try:
        img = eng.images.resolve(P + "-motd:1")
    except NotFound:
        return check(False, "", f"there is no image {P}-motd:1 yet: commit {P}-live as '{P}-motd:1'")
    try:
        live = eng.containers.get(P + "-live")
    except NotFound:
        return check(False, "", f"there is no container {P}-live: start it detached, then commit it")
    if not live.running:
        return check(False, "", f"{P}-live is {live.status}: commit it while it runs (sleep 600)")
    base = eng.images.resolve("busybox")
    if img.diff_ids[:1] != base.diff_ids or len(img.diff_ids) != 2:
        return check(False, "", "the image should be busybox plus one layer: the container's read/write layer")
    out = eng.run(P + "-motd:1", auto_remove=True)
    check(out.stdout.decode().strip() == "welcome",
          f"{P}-motd:1 = busybox + {P}-live's read/write layer, committed while it ran; its CMD prints welcome",
          f"running {P}-motd:1 with no command printed {out.stdout.decode().strip()!r}: "
          'set CMD ["cat", "/etc/motd"] when committing')
check_06()
''', check_fn_pt='''
def check_06():
    try:
        img = eng.images.resolve(P + "-motd:1")
    except NotFound:
        return check(False, "", f"ainda não existe a imagem {P}-motd:1: faça commit do {P}-live como '{P}-motd:1'")
    try:
        live = eng.containers.get(P + "-live")
    except NotFound:
        return check(False, "", f"não existe o container {P}-live: inicie-o em segundo plano e depois faça o commit")
    if not live.running:
        return check(False, "", f"{P}-live está {live.status}: faça o commit com ele rodando (sleep 600)")
    base = eng.images.resolve("busybox")
    if img.diff_ids[:1] != base.diff_ids or len(img.diff_ids) != 2:
        return check(False, "", "a imagem deve ser a busybox mais uma camada: a camada read/write do container")
    out = eng.run(P + "-motd:1", auto_remove=True)
    check(out.stdout.decode().strip() == "welcome",
          f"{P}-motd:1 = busybox + a camada read/write do {P}-live, com commit feito enquanto ele rodava; o CMD imprime welcome",
          f"rodar {P}-motd:1 sem comando imprimiu {out.stdout.decode().strip()!r}: "
          'defina CMD ["cat", "/etc/motd"] no commit')
check_06()
''',
        solution='''
live = eng.run("busybox", ["sh", "-c", "echo welcome > /etc/motd; exec sleep 600"], name=P + "-live", detach=True)
time.sleep(0.3)
!{GB} commit -c 'CMD ["cat", "/etc/motd"]' {P}-live {P}-motd:1
check_06()
'''),
    summary(
        ["A container writes into its own read/write layer (the overlay's upper directory); the image does not change.",
         'Stopping or killing the container keeps that layer, and `start` finds the changes again; only `rm` deletes it.',
         '`commit` turns the read/write layer into a new layer on top of the image: the other way, besides a Dockerfile, to make an image.'],
        ['Um container escreve na própria camada read/write (o diretório upper do overlay); a imagem não muda.',
         'Parar ou matar o container mantém essa camada, e o `start` encontra as mudanças de novo; só o `rm` a apaga.',
         'O `commit` transforma a camada read/write numa nova camada em cima da imagem: o outro jeito, além do Dockerfile, de criar uma imagem.'],
        '[07 · the registry](07-registry.ipynb), where images travel.',
        '[07 · o registry](07-registry.ipynb), por onde as imagens viajam.'),
    *finish(),
]
