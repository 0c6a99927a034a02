from common import code, exercise, finish, header, md, setup, summary

SLUG = "04-images"

CELLS = [
    *header(
        4, "Images: a tree of layers", "Imagens: uma árvore de camadas",
        ["List and inspect images; read an image's config and its layer list.",
         "See that everything is addressed by content (sha256 digests).",
         "Build the notes' example: two images that share a base layer stored once."],
        ["Listar e inspecionar imagens; ler a configuração e a lista de camadas de uma imagem.",
         "Ver que tudo é endereçado pelo conteúdo (digests sha256).",
         "Montar o exemplo das notas: duas imagens que compartilham uma camada base "
         "guardada uma vez só."],
        ["images"],
        quote_pt="""
Uma imagem é um conjunto de dependências encadeadas numa árvore pronta para ser utilizada.
[...] quando eu baixo uma IMAGEM de uma aplicação, e uma camada de dependência desta
aplicação é o `Bash`, quando eu desejar ter outra imagem de uma outra aplicação que também
possui o `Bash` como dependente, logo a camada do `Bash` não precisará ser baixada, pois
será reaproveitada da primeira imagem.

Normalmente, uma imagem possui um nome e uma versão (não obrigatório).
""",
        quote_en="""
An image is a set of dependencies chained in a tree, ready to be used. [...] when I
download an IMAGE of an application and one dependency layer of it is `Bash`, and I want
another image of another application that also depends on `Bash`, the `Bash` layer will
not need to be downloaded: it is reused from the first image.

Usually an image has a name and a version (not mandatory).
"""),
    *setup("nb04"),
    md("""
## The images here

`glassbox images` lists what is in the local store (the Docker Host's cache). `busybox`
was built offline from Debian's busybox-static by the set-up.
""", """
## As imagens desta máquina

`glassbox images` lista o que está no armazenamento local (o cache do Docker Host). A
`busybox` foi construída offline, a partir do busybox-static do Debian, na preparação.
"""),
    code('''
!{GB} images
'''),
    md("""
An image is two small JSON documents plus layer tarballs:

- the **config**: how to run it (`Cmd`, `Env`, ...), its history, and `rootfs.diff_ids`
  (the layer list);
- the **manifest**: the config's digest and each layer blob's digest.

`image inspect` shows them Docker's way:
""", """
Uma imagem é formada por dois pequenos documentos JSON e pelos tarballs das camadas:

- a **config**: como rodá-la (`Cmd`, `Env`, ...), seu histórico e `rootfs.diff_ids` (a
  lista de camadas);
- o **manifest**: o digest da config e o digest do blob de cada camada.

O `image inspect` os mostra do jeito do Docker:
"""),
    code('''
doc = eng.image_inspect("busybox")
print(json.dumps({k: doc[k] for k in ("Id", "RepoTags", "Config", "RootFS", "Size", "Descriptor")}, indent=2))
'''),
    md("""
## Addressed by content

Every blob is stored under the sha256 of its bytes (`blobs/sha256/<hex>`). The image id
*is* the digest of its config; change one byte and it is a different image. We recompute
the hashes ourselves:
""", """
## Endereçado pelo conteúdo

Cada blob é armazenado com o nome do sha256 do seu conteúdo (`blobs/sha256/<hex>`). O id da imagem
*é* o digest da config; mude um byte e é outra imagem. Recalculamos os hashes nós mesmos:
"""),
    code('''
import hashlib
img = eng.images.resolve("busybox")
manifest = json.loads(eng.images.read_blob(img.manifest_digest))
print("manifest", img.manifest_digest)
print(json.dumps(manifest, indent=2)[:900])
for what, digest in [("manifest", img.manifest_digest), ("config", manifest["config"]["digest"]),
                     *[("layer", l["digest"]) for l in manifest["layers"]]]:
    path = eng.images.blob_path(digest)
    real = "sha256:" + hashlib.sha256(open(path, "rb").read()).hexdigest()
    print(f"{what:8} {os.path.relpath(path, eng.root)[:40]}…  sha256 of its bytes matches: {real == digest}")
print("image id == config digest:", img.id == manifest["config"]["digest"])
print("layer blob digest (compressed, in the manifest):", manifest["layers"][0]["digest"][:19] + "…",
      "·", manifest["layers"][0]["mediaType"].rsplit(".", 1)[-1])
print("diff_id (uncompressed tar, in the config)      :", img.diff_ids[0][:19] + "…")
''', '''
import hashlib
img = eng.images.resolve("busybox")
manifest = json.loads(eng.images.read_blob(img.manifest_digest))
print("manifest", img.manifest_digest)
print(json.dumps(manifest, indent=2)[:900])
for what, digest in [("manifest", img.manifest_digest), ("config", manifest["config"]["digest"]),
                     *[("layer", l["digest"]) for l in manifest["layers"]]]:
    path = eng.images.blob_path(digest)
    real = "sha256:" + hashlib.sha256(open(path, "rb").read()).hexdigest()
    print(f"{what:8} {os.path.relpath(path, eng.root)[:40]}…  sha256 dos bytes confere: {real == digest}")
print("id da imagem == digest da config:", img.id == manifest["config"]["digest"])
print("digest do blob da camada (comprimido, no manifest):", manifest["layers"][0]["digest"][:19] + "…",
      "·", manifest["layers"][0]["mediaType"].rsplit(".", 1)[-1])
print("diff_id (tar descomprimido, na config)          :", img.diff_ids[0][:19] + "…")
'''),
    md("""
One layer, two names. The manifest lists each layer **blob** by the digest of the bytes
that travel and are stored (usually gzip-compressed: `tar+gzip`). The config's
`rootfs.diff_ids` name the same layer by the digest of its **uncompressed** tar, which does
not depend on how it was compressed: the image id (the config digest) stays the same if a
registry recompresses the blobs. They are equal only for a layer stored uncompressed.
""", """
Uma camada, dois nomes. O manifest lista cada **blob** de camada pelo digest dos bytes que
viajam e ficam armazenados (em geral comprimidos com gzip: `tar+gzip`). Os
`rootfs.diff_ids` da config dão nome à mesma camada pelo digest do seu tar
**descomprimido**, que não depende de como ela foi comprimida: o id da imagem (o digest da
config) continua o mesmo se um registry recomprimir os blobs. Os dois só são iguais para
uma camada guardada sem compressão.
"""),
    md("""
## The notes' example: two applications sharing "Bash"

We make a **shell** image (busybox + one layer standing in for `Bash`), then two
applications on top of it, each adding its own layer. Each image is made by running a
container and committing its changes (notebook 06 explains commit).
""", """
## O exemplo das notas: duas aplicações compartilhando o "Bash"

Criamos uma imagem **shell** (busybox + uma camada que faz o papel do `Bash`) e depois
duas aplicações em cima dela, cada uma com sua própria camada. Cada imagem é feita rodando
um container e fazendo commit das mudanças (o notebook 06 explica o commit).
"""),
    code('''
def layer_on(base, tag, script):
    """Run ``script`` in a container of ``base`` and commit the result as ``tag``."""
    r = eng.run(base, ["sh", "-c", script], name=P + "-build")
    eng.commit(r.id, tag, message=script)
    eng.containers.remove(r.id)

layer_on("busybox", P + "-shell:1", "mkdir -p /opt/bash && head -c 1500000 /dev/urandom > /opt/bash/bash")
layer_on(P + "-shell:1", P + "-app-a:1", "echo 'echo I am app A' > /app-a.sh")
layer_on(P + "-shell:1", P + "-app-b:1", "echo 'echo I am app B' > /app-b.sh")
!{GB} images
!{GB} history {P}-app-a:1
'''),
    md("""
Each app has 3 layers; the first two are **the same layers** (same diff_id) in both. The
picture is drawn from the store: shared layers once, at the bottom, as wide as the images
standing on them.
""", """
Cada app tem 3 camadas; as duas primeiras são **as mesmas camadas** (mesmo diff_id) nas
duas. A figura é desenhada a partir do armazenamento: camadas compartilhadas uma vez só,
embaixo, da largura das imagens que estão sobre elas.
"""),
    code('''
import glassbox.jupyter as gj
a, b = eng.images.resolve(P + "-app-a:1"), eng.images.resolve(P + "-app-b:1")
for i, (la, lb) in enumerate(zip(a.diff_ids, b.diff_ids)):
    print(f"layer {i}: app-a {la[7:19]}  app-b {lb[7:19]}  {'SHARED' if la == lb else 'own'}")
gj.layers(P + "-app-a:1", P + "-app-b:1")
''', '''
import glassbox.jupyter as gj
a, b = eng.images.resolve(P + "-app-a:1"), eng.images.resolve(P + "-app-b:1")
for i, (la, lb) in enumerate(zip(a.diff_ids, b.diff_ids)):
    print(f"camada {i}: app-a {la[7:19]}  app-b {lb[7:19]}  {'COMPARTILHADA' if la == lb else 'própria'}")
gj.layers(P + "-app-a:1", P + "-app-b:1")
'''),
    md("""
On disk each layer is unpacked **once**, in `layers/<diff_id>/`, whatever number of
images use it. `system df -v` counts it that way: the "Bash" layer's ~1.5 MB is *shared*
size, not paid twice.
""", """
No disco cada camada é descompactada **uma vez só**, em `layers/<diff_id>/`, não importa
quantas imagens a usem. O `system df -v` faz a mesma conta: os cerca de 1,5 MB da camada "Bash" aparecem como
tamanho *compartilhado* e não são contados duas vezes.
"""),
    code('''
refs = [d for t in ("busybox", P + "-shell:1", P + "-app-a:1", P + "-app-b:1") for d in eng.images.resolve(t).diff_ids]
print("layers named by the 4 images:", len(refs), "· distinct layers stored:", len(set(refs)))
for d in dict.fromkeys(refs):
    print("   ", os.path.relpath(eng.images.layer_dir(d), eng.root)[:20] + "…", "used", refs.count(d), "times, unpacked once:", os.path.isdir(eng.images.layer_dir(d)))
!{GB} system df -v
''', '''
refs = [d for t in ("busybox", P + "-shell:1", P + "-app-a:1", P + "-app-b:1") for d in eng.images.resolve(t).diff_ids]
print("camadas citadas pelas 4 imagens:", len(refs), "· camadas distintas guardadas:", len(set(refs)))
for d in dict.fromkeys(refs):
    print("   ", os.path.relpath(eng.images.layer_dir(d), eng.root)[:20] + "…", "usada", refs.count(d), "vezes, descompactada uma vez:", os.path.isdir(eng.images.layer_dir(d)))
!{GB} system df -v
'''),
    md("""
## Name and version

`name:tag` — the tag is the "version" of the notes, and it is optional (`latest` when left
out). A tag is only a pointer: tagging copies nothing, and two tags can name one image id.
""", """
## Nome e versão

`nome:tag` — a tag é a "versão" das notas, e é opcional (`latest` quando omitida). Uma tag
é só um ponteiro: marcar com tag não copia nada, e duas tags podem apontar para o mesmo id.
"""),
    code('''
!{GB} tag {P}-app-a:1 {P}-app-a:latest
!{GB} images {P}-app-a
'''),
    *exercise(
        "Grow the tree one level: make `nb04-app-c:1` that shares **every** layer of "
        "`nb04-app-a:1` and adds one of its own (use `layer_on`). Then predict, in `answer`, "
        "how many **distinct** layers the store needs for shell, app-a, app-b and app-c "
        "together. The check reads the images' diff_ids from the store.",
        "Faça a árvore crescer um nível: crie `nb04-app-c:1`, que compartilha **todas** as "
        "camadas de `nb04-app-a:1` e acrescenta uma própria (use `layer_on`). Depois preveja, "
        "em `answer`, quantas camadas **distintas** o armazenamento precisa para shell, app-a, "
        "app-b e app-c juntas. A verificação lê os diff_ids das imagens no armazenamento.",
        attempt='''
answer = None   # your code here: layer_on(...), then the number of distinct layers
''',
        check_fn='''
def check_04():
    try:
        c = eng.images.resolve(P + "-app-c:1")
    except NotFound:
        return check(False, "", f"no image {P}-app-c:1 yet: layer_on(P + '-app-a:1', P + '-app-c:1', 'echo ... > /app-c.sh')")
    a = eng.images.resolve(P + "-app-a:1")
    if c.diff_ids[:len(a.diff_ids)] != a.diff_ids or len(c.diff_ids) != len(a.diff_ids) + 1:
        return check(False, "", f"{P}-app-c:1 has {len(c.diff_ids)} layers and does not start with all of "
                     f"app-a's {len(a.diff_ids)}: build it on top of {P}-app-a:1")
    names = [P + t for t in ("-shell:1", "-app-a:1", "-app-b:1", "-app-c:1")]
    distinct = {d for n in names for d in eng.images.resolve(n).diff_ids}
    total = sum(len(eng.images.resolve(n).diff_ids) for n in names)
    check(answer == len(distinct), f"{total} layers named by the four images, {len(distinct)} stored: "
          "each shared layer is kept once", f"answer is {answer!r}: count each diff_id once "
          "(busybox, Bash, and each app's own layer)")
check_04()
''', check_fn_pt='''
def check_04():
    try:
        c = eng.images.resolve(P + "-app-c:1")
    except NotFound:
        return check(False, "", f"ainda não há a imagem {P}-app-c:1: layer_on(P + '-app-a:1', P + '-app-c:1', 'echo ... > /app-c.sh')")
    a = eng.images.resolve(P + "-app-a:1")
    if c.diff_ids[:len(a.diff_ids)] != a.diff_ids or len(c.diff_ids) != len(a.diff_ids) + 1:
        return check(False, "", f"{P}-app-c:1 tem {len(c.diff_ids)} camadas e não começa com todas as "
                     f"{len(a.diff_ids)} do app-a: construa-a em cima de {P}-app-a:1")
    names = [P + t for t in ("-shell:1", "-app-a:1", "-app-b:1", "-app-c:1")]
    distinct = {d for n in names for d in eng.images.resolve(n).diff_ids}
    total = sum(len(eng.images.resolve(n).diff_ids) for n in names)
    check(answer == len(distinct), f"{total} camadas citadas pelas quatro imagens, {len(distinct)} guardadas: "
          "cada camada compartilhada é guardada uma vez", f"answer é {answer!r}: conte cada diff_id uma vez "
          "(busybox, Bash e a camada própria de cada app)")
check_04()
''',
        solution='''
layer_on(P + "-app-a:1", P + "-app-c:1", "echo 'echo I am app C' > /app-c.sh")
answer = 5      # busybox, Bash, app-a's, app-b's and app-c's own layer
check_04()
'''),
    summary(
        ["An image is a manifest, a config and the layers' tarballs, each named by the sha256 of its bytes; the image id is the config's digest.",
         'A layer has two names: its diff_id (the uncompressed tar, listed in the config) and its blob digest (the compressed blob, listed in the manifest).',
         'Images built on the same base share its layers: stored once, counted once. A tag (`name:version`) is a movable pointer to an image id.'],
        ['Uma imagem é formada por um manifest, uma config e os tarballs das camadas, cada um com o nome do sha256 do seu conteúdo; o id da imagem é o digest da config.',
         'Uma camada tem dois nomes: o diff_id (do tar descomprimido, listado na config) e o digest do blob (do blob comprimido, listado no manifest).',
         'Imagens construídas sobre a mesma base compartilham as camadas dela: guardadas uma vez, contadas uma vez. Uma tag (`nome:versão`) é um ponteiro móvel para um id de imagem.'],
        '[05 · the Dockerfile](05-dockerfile.ipynb), building an image from a recipe.',
        '[05 · o Dockerfile](05-dockerfile.ipynb), construindo uma imagem a partir de uma receita.'),
    *finish(),
]
