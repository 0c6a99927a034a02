from common import code, exercise, finish, header, md, setup

SLUG = "03-overlay-filesystem"

CELLS = [
    *header(
        3, "The overlay file system", "O sistema de arquivos overlay",
        ["Mount an overlay by hand: lower, upper, work, merged.",
         "See copy-up (writing a lower file copies it up) and whiteouts (deleting one).",
         "See why containers are light: many containers, one shared lower layer."],
        ["Montar um overlay à mão: lower, upper, work, merged.",
         "Ver o copy-up (escrever num arquivo de baixo o copia para cima) e os whiteouts "
         "(apagar um).",
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
    md("""
## An overlay by hand

Four directories: `lower` (read-only, like an image layer), `upper` (where changes go,
like a container's read/write layer), `work` (the kernel's scratch space) and `merged`
(the view that combines them). One `mount -t overlay` makes the view.
""", """
## Um overlay à mão

Quatro diretórios: `lower` (somente leitura, como uma camada de imagem), `upper` (onde as
mudanças vão, como a camada read/write de um container), `work` (rascunho do kernel) e
`merged` (a visão que combina as duas). Um `mount -t overlay` cria a visão.
"""),
    code('''
lab = tempfile.mkdtemp(prefix=P + "-ovl-")
lower, upper, work, merged = (os.path.join(lab, d) for d in ("lower", "upper", "work", "merged"))
for d in (lower, upper, work, merged):
    os.makedirs(d)
for name, text in {"a.txt": "from the lower layer\\n", "b.txt": "delete me\\n", "c.txt": "me too\\n"}.items():
    with open(os.path.join(lower, name), "w") as f:
        f.write(text)
opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, merged], check=True)
print("mount -t overlay overlay -o", opts, merged)
!ls -l {merged}
'''),
    md("""
`merged` shows the lower files, and `upper` is empty: nothing was copied. Now we **write a
new file**, **change** `a.txt` and **delete** `b.txt` — all through `merged`.
""", """
`merged` mostra os arquivos de baixo, e `upper` está vazio: nada foi copiado. Agora
**escrevemos um arquivo novo**, **alteramos** `a.txt` e **apagamos** `b.txt` — tudo
através de `merged`.
"""),
    code('''
with open(os.path.join(merged, "new.txt"), "w") as f:
    f.write("made in merged\\n")
with open(os.path.join(merged, "a.txt"), "a") as f:
    f.write("changed through merged\\n")
os.remove(os.path.join(merged, "b.txt"))
for d in ("lower", "upper", "merged"):
    print(f"--- {d}")
    !ls -l {lab}/{d}
'''),
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
'''),
    md("""
Unmount: the view disappears, and what is left in `upper` **is** the difference — exactly
what a layer in an image stores (a whiteout in a layer tarball is a file named
`.wh.b.txt`).
""", """
Desmontar: a visão some, e o que sobra em `upper` **é** a diferença — exatamente o que uma
camada de imagem guarda (um whiteout dentro do tar de uma camada é um arquivo chamado
`.wh.b.txt`).
"""),
    *exercise(
        "Make `c.txt` disappear from `merged` **without touching `lower`**. Then the check "
        "looks for the whiteout in `upper` and for the original in `lower`.",
        "Faça `c.txt` sumir de `merged` **sem mexer em `lower`**. A verificação procura o "
        "whiteout em `upper` e o original em `lower`.",
        attempt='''
# your code here: one line, working only on `merged`
''',
        check_fn='''
def check_03():
    w = os.path.join(upper, "c.txt")
    if os.path.exists(os.path.join(merged, "c.txt")):
        return check(False, "", "merged/c.txt is still there: delete it through merged (os.remove)")
    if not os.path.exists(os.path.join(lower, "c.txt")):
        return check(False, "", "lower/c.txt is gone: you changed the read-only layer; recreate it and delete through merged")
    st = os.lstat(w)
    check(stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, "upper/c.txt is a 0,0 whiteout, lower is untouched",
          "upper/c.txt is not a whiteout")
try:
    check_03()
except FileNotFoundError as e:
    check(False, "", f"not there: {e.filename}")
''', check_fn_pt='''
def check_03():
    w = os.path.join(upper, "c.txt")
    if os.path.exists(os.path.join(merged, "c.txt")):
        return check(False, "", "merged/c.txt ainda está lá: apague-o através de merged (os.remove)")
    if not os.path.exists(os.path.join(lower, "c.txt")):
        return check(False, "", "lower/c.txt sumiu: você mudou a camada somente leitura; recrie-o e apague por merged")
    st = os.lstat(w)
    check(stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, "upper/c.txt é um whiteout 0,0, lower está intacto",
          "upper/c.txt não é um whiteout")
try:
    check_03()
except FileNotFoundError as e:
    check(False, "", f"não existe: {e.filename}")
''',
        solution='''
os.remove(os.path.join(merged, "c.txt"))
check_03()
'''),
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

Três containers de `busybox`. O `GraphDriver` deles (do `inspect`) aponta o mesmo
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
O registro do próprio kernel da montagem raiz do container — as mesmas opções que
digitamos à mão:
"""),
    code('''
pid = eng.containers.get(ids[0]).pid
!grep ' / / ' /proc/{pid}/mountinfo
'''),
    *finish(),
]
