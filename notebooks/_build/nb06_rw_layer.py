from common import code, exercise, finish, header, md, setup

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
        "Make an image `nb06-motd:1` whose `/etc/motd` contains `welcome` — by committing a "
        "container (not with a Dockerfile).",
        "Crie uma imagem `nb06-motd:1` cujo `/etc/motd` contenha `welcome` — fazendo commit "
        "de um container (não com Dockerfile).",
        attempt='''
# your code here: eng.run(...) then eng.commit(container_id, "nb06-motd:1")
''',
        check_fn='''
def check_06():
    try:
        img = eng.images.resolve(P + "-motd:1")
    except NotFound:
        return check(False, "", f"there is no image {P}-motd:1 yet: eng.commit(container, '{P}-motd:1')")
    base = eng.images.resolve("busybox")
    if img.diff_ids[:1] != base.diff_ids:
        return check(False, "", "the image should be busybox plus one layer: commit a container of busybox")
    out = eng.run(P + "-motd:1", ["cat", "/etc/motd"], auto_remove=True)
    check(out.stdout.decode().strip() == "welcome", f"{P}-motd:1 = busybox + {len(img.layers) - 1} layer: /etc/motd says welcome",
          f"/etc/motd in the image says {out.stdout.decode().strip()!r} (stderr {out.stderr.decode().strip()!r})")
check_06()
''', check_fn_pt='''
def check_06():
    try:
        img = eng.images.resolve(P + "-motd:1")
    except NotFound:
        return check(False, "", f"ainda não existe a imagem {P}-motd:1: eng.commit(container, '{P}-motd:1')")
    base = eng.images.resolve("busybox")
    if img.diff_ids[:1] != base.diff_ids:
        return check(False, "", "a imagem deve ser a busybox mais uma camada: faça commit de um container da busybox")
    out = eng.run(P + "-motd:1", ["cat", "/etc/motd"], auto_remove=True)
    check(out.stdout.decode().strip() == "welcome", f"{P}-motd:1 = busybox + {len(img.layers) - 1} camada: /etc/motd diz welcome",
          f"o /etc/motd da imagem diz {out.stdout.decode().strip()!r} (stderr {out.stderr.decode().strip()!r})")
check_06()
''',
        solution='''
r = eng.run("busybox", ["sh", "-c", "echo welcome > /etc/motd"], name=P + "-motd")
eng.commit(r.id, P + "-motd:1")
check_06()
'''),
    *finish(),
]
