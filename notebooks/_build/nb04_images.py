from common import code, exercise, finish, header, md, setup

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
## As imagens daqui

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
Uma imagem são dois pequenos documentos JSON mais os tarballs das camadas:

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

Cada blob é guardado sob o sha256 dos seus bytes (`blobs/sha256/<hex>`). O id da imagem
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
'''),
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
quantas imagens a usem. O `system df -v` conta assim: o ~1,5 MB da camada "Bash" é tamanho
*compartilhado*, não pago duas vezes.
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
é só um ponteiro: marcar com tag não copia nada, e duas tags podem apontar o mesmo id.
"""),
    code('''
!{GB} tag {P}-app-a:1 {P}-app-a:latest
!{GB} images {P}-app-a
'''),
    *exercise(
        "Which layer do `nb04-app-a:1` and `nb04-app-b:1` share **on top of busybox**? Put "
        "its diff_id (a `sha256:...` string) in `answer`.",
        "Qual camada `nb04-app-a:1` e `nb04-app-b:1` compartilham **acima da busybox**? "
        "Coloque o diff_id dela (uma string `sha256:...`) em `answer`.",
        attempt='''
answer = ""   # hint: eng.images.resolve(...).diff_ids
''',
        check_fn='''
def check_04():
    want = eng.images.resolve(P + "-shell:1").diff_ids[-1]
    if not isinstance(answer, str) or not answer.startswith("sha256:"):
        return check(False, "", "answer should be a digest string like 'sha256:4e0a…'")
    if answer == eng.images.resolve("busybox").diff_ids[0]:
        return check(False, "", "that is busybox's own layer: look one layer higher")
    check(answer == want, "that is the shared 'Bash' layer, made once by the shell image",
          "not a layer both apps share above busybox: compare a.diff_ids and b.diff_ids")
check_04()
''', check_fn_pt='''
def check_04():
    want = eng.images.resolve(P + "-shell:1").diff_ids[-1]
    if not isinstance(answer, str) or not answer.startswith("sha256:"):
        return check(False, "", "answer deve ser uma string de digest como 'sha256:4e0a…'")
    if answer == eng.images.resolve("busybox").diff_ids[0]:
        return check(False, "", "essa é a camada da própria busybox: olhe uma camada acima")
    check(answer == want, "essa é a camada 'Bash' compartilhada, feita uma vez pela imagem shell",
          "não é uma camada que os dois apps compartilham acima da busybox: compare a.diff_ids e b.diff_ids")
check_04()
''',
        solution='''
answer = [d for d in a.diff_ids if d in b.diff_ids][1]
check_04()
'''),
    *finish(),
]
