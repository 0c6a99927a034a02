from common import code, code_pt, exercise, finish, gate, header, md, notes_vs_kernel, setup, summary

SLUG = "03-overlay-filesystem"

OVL_PT = {'"from the lower layer\\n"': '"da camada de baixo\\n"', '"delete me\\n"': '"me apague\\n"',
          '"me too\\n"': '"eu também\\n"', '"made in merged\\n"': '"criado em merged\\n"',
          '"changed through merged\\n"': '"alterado através de merged\\n"'}
"""The files' contents in Portuguese (what the student reads back)."""

CELLS = [
    *header(
        3, "The overlay file system", "O sistema de arquivos overlay",
        ["Mount an overlay by hand: lower, upper, work, merged.",
         "See copy-up (writing a lower file copies it up) and whiteouts (what `upper` holds "
         "when a lower file is deleted).",
         "See why containers are light: many containers, one shared lower layer."],
        ["Montar um overlay à mão: lower, upper, work, merged.",
         "Ver o copy-up (ao escrever num arquivo da camada de baixo, ele é copiado para cima) "
         "e os whiteouts (o que aparece em `upper` quando se apaga um arquivo de baixo).",
         "Ver por que containers são leves: muitos containers, uma camada de baixo "
         "compartilhada."],
        ["rootfs", "images"],
        quote_pt="""
Quando trabalhamos com o Docker, existe um recurso chamado OFS - Overlay File System. A
grande sacada do OFS é o trabalho com layers - camadas - que trabalham de forma
individualizada, ou seja, ele pega a diferença do que foi alterado e na próxima versão só é
guardada a diferença. [...]
Por este motivo que os containers são tão leves.
""",
        quote_en="""
When we work with Docker there is a feature called OFS — Overlay File System. Its big idea
is working with layers that work individually: it takes the difference of what was changed,
and the next version stores only the difference. [...]
That is why containers are so light.
"""),
    *setup("nb03"),
    notes_vs_kernel(
        "with OFS the containers reuse the host's \"kernel dependencies, filegroup, "
        "libraries\" (the part elided as [...] above), and that is why they are light.",
        "Containers share only the host's **kernel** (through namespaces and cgroups, not "
        "through overlay). Libraries and programs come from the **image**: the host's "
        "`/lib` is not inside. Overlay shares layers *between images and containers*, "
        "which is what makes a hundred containers of one image cost one copy. Below: the "
        "same kernel release inside and out, and the host's C library missing inside.",
        "com o OFS os containers reaproveitam \"dependências de kernel, filegroup, "
        "bibliotecas\" do host (o trecho omitido com [...] acima), e por isso são leves.",
        "Containers compartilham só o **kernel** do host (por namespaces e cgroups, não pelo "
        "overlay). Bibliotecas e programas vêm da **imagem**: o `/lib` do host não está lá "
        "dentro. O overlay compartilha camadas *entre imagens e containers*, e é isso que faz "
        "cem containers de uma imagem custarem uma cópia só. Abaixo: a mesma versão de kernel "
        "dentro e fora, e a biblioteca C do host ausente lá dentro."),
    code('''
import glob, platform
libc = sorted(glob.glob("/lib/*/libc.so.6") + glob.glob("/usr/lib/*/libc.so.6"))[:1]
inside = eng.run("busybox", ["sh", "-c", "uname -r; ls " + " ".join(libc or ["/lib"]) + " 2>&1"],
                 auto_remove=True).stdout.decode().splitlines()
print("kernel  host:", platform.release(), "· container:", inside[0])
print("libc    host:", libc, "· container:", inside[1:])
'''),
    md("""
## An overlay by hand

Four directories: `lower` (read-only, like an image layer), `upper` (where changes go,
like a container's read/write layer), `work` (the kernel's scratch space) and `merged`
(the view that combines them). One `mount -t overlay` makes the view.
""", """
## Um overlay à mão

Quatro diretórios: `lower` (somente leitura, como uma camada de imagem), `upper` (onde as
mudanças vão, como a camada read/write de um container), `work` (rascunho do kernel) e
`merged` (a visão que junta os dois, `lower` e `upper`). Um `mount -t overlay` cria a visão.
"""),
    code_pt('''
lab = tempfile.mkdtemp(prefix=P + "-ovl-")
lower, upper, work, merged = (os.path.join(lab, d) for d in ("lower", "upper", "work", "merged"))
for d in (lower, upper, work, merged):
    os.makedirs(d)
os.makedirs(os.path.join(lower, "conf"))
for name, text in {"a.txt": "from the lower layer\\n", "b.txt": "delete me\\n", "c.txt": "me too\\n",
                   "conf/x.conf": "x = 1\\n", "conf/y.conf": "y = 2\\n"}.items():
    with open(os.path.join(lower, name), "w") as f:
        f.write(text)
opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, merged], check=True)
print("mount -t overlay overlay -o", opts, merged)
!ls -l {merged}
''', OVL_PT),
    md("""
`merged` shows the lower files, and `upper` is empty: nothing was copied. Now we **write a
new file**, **change** `a.txt` and **delete** `b.txt` — all through `merged`.
""", """
`merged` mostra os arquivos de baixo, e `upper` está vazio: nada foi copiado. Agora
**escrevemos um arquivo novo**, **alteramos** `a.txt` e **apagamos** `b.txt` — tudo
através de `merged`.
"""),
    code_pt('''
with open(os.path.join(merged, "new.txt"), "w") as f:
    f.write("made in merged\\n")
with open(os.path.join(merged, "a.txt"), "a") as f:
    f.write("changed through merged\\n")
os.remove(os.path.join(merged, "b.txt"))
for d in ("lower", "upper", "merged"):
    print(f"--- {d}")
    !ls -l {lab}/{d}
''', OVL_PT),
    md("""
What happened:

- **new.txt** exists only in `upper`: new files go to the top layer.
- **a.txt** was *copied up*: `upper/a.txt` is a full copy with the change; `lower/a.txt`
  is untouched. That is copy-on-write.
- **b.txt** is still in `lower` (it is read-only!), so the kernel hides it with a
  **whiteout**: a character device with number 0,0 in `upper`.
""", """
O que aconteceu:

- **new.txt** existe só em `upper`: arquivos novos vão para a camada de cima.
- **a.txt** foi *copiado para cima* (copy-up): `upper/a.txt` é uma cópia inteira com a
  mudança; `lower/a.txt` não mudou. Isso é copy-on-write.
- **b.txt** continua em `lower` (é somente leitura!), então o kernel o esconde com um
  **whiteout**: um dispositivo de caractere com número 0,0 em `upper`.
"""),
    code('''
import stat
print("lower/a.txt :", open(os.path.join(lower, "a.txt")).read().splitlines())
print("upper/a.txt :", open(os.path.join(upper, "a.txt")).read().splitlines())
st = os.lstat(os.path.join(upper, "b.txt"))
print("upper/b.txt : character device?", stat.S_ISCHR(st.st_mode),
      " device number", (os.major(st.st_rdev), os.minor(st.st_rdev)))
''', '''
import stat
print("lower/a.txt :", open(os.path.join(lower, "a.txt")).read().splitlines())
print("upper/a.txt :", open(os.path.join(upper, "a.txt")).read().splitlines())
st = os.lstat(os.path.join(upper, "b.txt"))
print("upper/b.txt : dispositivo de caractere?", stat.S_ISCHR(st.st_mode),
      " número do dispositivo", (os.major(st.st_rdev), os.minor(st.st_rdev)))
'''),
    md("""
The three layers, drawn from what is on disk now:
""", """
As três camadas, desenhadas a partir do que está no disco agora:
"""),
    code('''
%matplotlib inline
import matplotlib.pyplot as plt

def describe(d, name):
    p = os.path.join(d, name)
    if not os.path.lexists(p):
        return None
    st = os.lstat(p)
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
        return ("whiteout", "#555", "white")
    return ("file", "#cfe3ff" if d == lower else "#ffe9b3", "black")

names = sorted(set(os.listdir(lower)) | set(os.listdir(upper)) | set(os.listdir(merged)))
fig, ax = plt.subplots(figsize=(8, 2.8))
for row, (label, d) in enumerate([("lower (image)", lower), ("upper (read/write)", upper), ("merged (what the container sees)", merged)]):
    y = row
    ax.text(-0.2, y, label, ha="right", va="center", fontsize=9)
    for col, n in enumerate(names):
        info = describe(d, n)
        if info:
            kind, fc, tc = info
            if d == merged:
                fc = "#d9f2d9"
            ax.text(col, y, n + (" ⊘" if kind == "whiteout" else ""), ha="center", va="center", color=tc,
                    fontsize=9, bbox=dict(fc=fc, ec="#666", boxstyle="round"))
ax.set_xlim(-2.6, len(names)); ax.set_ylim(-0.6, 2.6); ax.set_axis_off()
plt.show()
''', '''
%matplotlib inline
import matplotlib.pyplot as plt

def describe(d, name):
    p = os.path.join(d, name)
    if not os.path.lexists(p):
        return None
    st = os.lstat(p)
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
        return ("whiteout", "#555", "white")
    return ("file", "#cfe3ff" if d == lower else "#ffe9b3", "black")

names = sorted(set(os.listdir(lower)) | set(os.listdir(upper)) | set(os.listdir(merged)))
fig, ax = plt.subplots(figsize=(8, 2.8))
for row, (label, d) in enumerate([("lower (imagem)", lower), ("upper (leitura/escrita)", upper), ("merged (o que o container vê)", merged)]):
    y = row
    ax.text(-0.2, y, label, ha="right", va="center", fontsize=9)
    for col, n in enumerate(names):
        info = describe(d, n)
        if info:
            kind, fc, tc = info
            if d == merged:
                fc = "#d9f2d9"
            ax.text(col, y, n + (" ⊘" if kind == "whiteout" else ""), ha="center", va="center", color=tc,
                    fontsize=9, bbox=dict(fc=fc, ec="#666", boxstyle="round"))
ax.set_xlim(-2.6, len(names)); ax.set_ylim(-0.6, 2.6); ax.set_axis_off()
plt.show()
'''),
    *exercise(
        "Deleting one file leaves a whiteout. Now a whole directory: make `merged/conf` a "
        "**fresh** directory holding only a new file `new.conf` (none of `lower`'s `x.conf`, "
        "`y.conf` showing through), without touching `lower`. How does the kernel hide a "
        "directory's old contents? The check looks at `merged`, at `lower` and at the mark "
        "the kernel leaves on `upper/conf` (the extended attribute `trusted.overlay.opaque`).",
        "Apagar um arquivo deixa um whiteout. Agora um diretório inteiro: faça `merged/conf` "
        "ser um diretório **novo**, só com um arquivo novo `new.conf` (sem que os `x.conf` e "
        "`y.conf` de `lower` apareçam), sem mexer em `lower`. Como o kernel esconde o conteúdo "
        "antigo de um diretório? A verificação olha `merged`, `lower` e a marca que o kernel "
        "deixa em `upper/conf` (o atributo estendido `trusted.overlay.opaque`).",
        attempt='''
# your code here: work only on `merged` (shutil.rmtree, os.mkdir, open(..., "w"))
''',
        check_fn='''
def check_03():
    mconf, lconf, uconf = (os.path.join(d, "conf") for d in (merged, lower, upper))
    if sorted(os.listdir(lconf)) != ["x.conf", "y.conf"]:
        return check(False, "", "lower/conf changed: the lower layer is read-only; work through merged")
    if not os.path.isdir(mconf) or sorted(os.listdir(mconf)) != ["new.conf"]:
        return check(False, "", f"merged/conf holds {sorted(os.listdir(mconf)) if os.path.isdir(mconf) else 'nothing'}, "
                     "expected only new.conf: remove the directory through merged, make it again, add new.conf")
    try:
        opaque = os.getxattr(uconf, "trusted.overlay.opaque")
    except OSError:
        opaque = None
    check(opaque == b"y", "upper/conf is an opaque directory (trusted.overlay.opaque=y): "
          "the kernel stops looking into lower/conf", f"upper/conf is not marked opaque ({opaque!r})")
check_03()
''', check_fn_pt='''
def check_03():
    mconf, lconf, uconf = (os.path.join(d, "conf") for d in (merged, lower, upper))
    if sorted(os.listdir(lconf)) != ["x.conf", "y.conf"]:
        return check(False, "", "lower/conf mudou: a camada de baixo é somente leitura; trabalhe por merged")
    if not os.path.isdir(mconf) or sorted(os.listdir(mconf)) != ["new.conf"]:
        return check(False, "", f"merged/conf contém {sorted(os.listdir(mconf)) if os.path.isdir(mconf) else 'nada'}, "
                     "esperado só new.conf: remova o diretório por merged, crie-o de novo e ponha o new.conf")
    try:
        opaque = os.getxattr(uconf, "trusted.overlay.opaque")
    except OSError:
        opaque = None
    check(opaque == b"y", "upper/conf é um diretório opaco (trusted.overlay.opaque=y): "
          "o kernel para de olhar em lower/conf", f"upper/conf não está marcado como opaco ({opaque!r})")
check_03()
''',
        solution='''
shutil.rmtree(os.path.join(merged, "conf"))
os.mkdir(os.path.join(merged, "conf"))
with open(os.path.join(merged, "conf", "new.conf"), "w") as f:
    f.write("fresh\\n")
check_03()
'''),
    md("""
Unmount: the view disappears, and what is left in `upper` **is** the difference — exactly
what a layer in an image stores (a whiteout in a layer tarball is a file named
`.wh.b.txt`; an opaque directory holds a `.wh..wh..opq` file).
""", """
Desmontar: a visão some, e o que sobra em `upper` **é** a diferença — exatamente o que uma
camada de imagem guarda (um whiteout dentro do tar de uma camada é um arquivo chamado
`.wh.b.txt`; um diretório opaco contém um arquivo `.wh..wh..opq`).
"""),
    code('''
subprocess.run(["umount", merged], check=True)
print("after umount, merged is empty:", os.listdir(merged), "· upper keeps the diff:", sorted(os.listdir(upper)))
shutil.rmtree(lab)
''', '''
subprocess.run(["umount", merged], check=True)
print("depois do umount, merged está vazio:", os.listdir(merged), "· upper guarda a diferença:", sorted(os.listdir(upper)))
shutil.rmtree(lab)
'''),
    md("""
## A container's root is the same kind of mount

Three containers from `busybox`. Their `GraphDriver` (from `inspect`) names the same
`LowerDir` — the image's layer, stored once — and each has its own small `UpperDir`.
""", """
## A raiz de um container é o mesmo tipo de montagem

Três containers de `busybox`. O `GraphDriver` deles (do `inspect`) aponta para o mesmo
`LowerDir` — a camada da imagem, guardada uma vez só — e cada um tem seu próprio
`UpperDir`, pequeno.
"""),
    code('''
ids = [eng.run("busybox", ["sh", "-c", f"echo container {i} > /note; sleep 600"], name=f"{P}-c{i}", detach=True).id
       for i in range(3)]
time.sleep(0.3)

def du(path):
    """Bytes on disk under path (hard links counted once, as du does)."""
    seen = {}
    for b, _, fs in os.walk(path):
        for f in fs:
            st = os.lstat(os.path.join(b, f))
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())

for cid in ids:
    gd = eng.containers.get(cid).inspect()["GraphDriver"]["Data"]
    print(eng.containers.get(cid).name, "\\n  LowerDir", gd["LowerDir"], "\\n  UpperDir", gd["UpperDir"],
          f"({du(gd['UpperDir'])} bytes:", sorted(os.listdir(gd["UpperDir"])), ")")
print(f"\\nthe shared lower layer: {du(gd['LowerDir']) / 1e6:.1f} MB on disk, once")
''', '''
ids = [eng.run("busybox", ["sh", "-c", f"echo container {i} > /note; sleep 600"], name=f"{P}-c{i}", detach=True).id
       for i in range(3)]
time.sleep(0.3)

def du(path):
    """Bytes on disk under path (hard links counted once, as du does)."""
    seen = {}
    for b, _, fs in os.walk(path):
        for f in fs:
            st = os.lstat(os.path.join(b, f))
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())

for cid in ids:
    gd = eng.containers.get(cid).inspect()["GraphDriver"]["Data"]
    print(eng.containers.get(cid).name, "\\n  LowerDir", gd["LowerDir"], "\\n  UpperDir", gd["UpperDir"],
          f"({du(gd['UpperDir'])} bytes:", sorted(os.listdir(gd["UpperDir"])), ")")
print(f"\\na camada de baixo compartilhada: {du(gd['LowerDir']) / 1e6:.1f} MB no disco, uma vez só")
'''),
    md("""
The kernel's own record of the container's root mount — the same options we typed by hand:
""", """
Veja como o próprio kernel registra a montagem raiz do container — as mesmas opções
que digitamos à mão:
"""),
    code('''
pid = eng.containers.get(ids[0]).pid
!grep ' / / ' /proc/{pid}/mountinfo
'''),
    summary(
        ['An overlay mount stacks read-only lower layers under one writable upper directory; the container sees the merged view.',
         'Writing a lower file copies it up; deleting one leaves a whiteout (a 0,0 character device) in upper, and the lower layer never changes.',
         'The containers of one image share its layers on disk and each has a small upper directory of its own. With the host they share only the kernel, not its libraries.'],
        ['Uma montagem overlay empilha camadas de baixo, somente leitura, sob um diretório de cima gravável; o container vê a visão combinada (merged).',
         'Escrever num arquivo de baixo o copia para cima (copy-up); apagar um arquivo de baixo deixa um whiteout (um dispositivo de caractere 0,0) em upper, e a camada de baixo nunca muda.',
         'Os containers de uma imagem compartilham as camadas dela no disco, e cada um tem um pequeno diretório upper só seu. Com o host eles compartilham só o kernel, não as bibliotecas.'],
        '[04 · images](04-images.ipynb), the layers as files with names.',
        '[04 · imagens](04-images.ipynb), as camadas como arquivos com nome.'),
    *finish(),
]

CELLS = gate(CELLS, "root",
             'lab = tempfile.mkdtemp(prefix=P + "-ovl-")', 'with open(os.path.join(merged, "new.txt")',
             'print("lower/a.txt :"', "def describe(d, name):", "def check_03():",
             'subprocess.run(["umount", merged]',
             note_en="(a mount in the host's mount namespace. Rootless, the same mount works inside a "
                     "user namespace of your own: `unshare --user --map-root-user --mount sh -c "
                     "'mount -t overlay overlay -o lowerdir=...,upperdir=...,workdir=...,userxattr "
                     "merged; ls merged'` — the view lives as long as that shell, and the whiteouts "
                     "are `user.overlay.*` xattrs.)",
             note_pt="(uma montagem no namespace de montagem do host. No rootless, a mesma montagem "
                     "funciona dentro de um user namespace seu: `unshare --user --map-root-user "
                     "--mount sh -c 'mount -t overlay overlay -o lowerdir=...,upperdir=...,"
                     "workdir=...,userxattr merged; ls merged'` — a visão dura o quanto durar esse "
                     "shell, e os whiteouts viram xattrs `user.overlay.*`.)")
"""The hand-made overlay mount on the host, and the cells that look at it."""
