"""Cells every course notebook shares: the header, the set-up, the clean-up.

A cell is a tuple:
  ("md", english, portuguese)          markdown, one text per language
  ("code", source)                     the same code in both languages
  ("code", english_src, portuguese_src)  code whose printed messages are translated
"""



def md(en: str, pt: str):
    return ("md", en.strip("\n"), pt.strip("\n"))


def code(src: str, pt: str | None = None):
    src = src.strip("\n")
    return ("code", src) if pt is None else ("code", src, pt.strip("\n"))


def header(num: int, title_en: str, title_pt: str, goals_en: list[str], goals_pt: list[str],
           packages: list[str], quote_pt: str, quote_en: str):
    """Title, goals, the notes' own words, and the package(s) that implement the idea."""
    links = ", ".join(f"[`engine/glassbox/{p}`](../../engine/glassbox/{p})" for p in packages)
    g_en = "\n".join(f"- {g}" for g in goals_en)
    g_pt = "\n".join(f"- {g}" for g in goals_pt)
    q_pt = "\n".join("> " + ln if ln else ">" for ln in quote_pt.strip().splitlines())
    q_en = "\n".join("> " + ln if ln else ">" for ln in quote_en.strip().splitlines())
    nav_en = "[course index](../README.md)"
    nav_pt = "[índice do curso](../README.md)"
    return [md(
        f"# {num:02d} · {title_en}\n\n"
        f"**Goals**\n\n{g_en}\n\n"
        f"**What the course notes say** (translated from the Portuguese notes):\n\n{q_en}\n\n"
        f"Implemented in {links}. Every cell below runs on the real kernel: namespaces, "
        f"cgroups and overlay mounts are made by glassbox, not simulated. {nav_en}",
        f"# {num:02d} · {title_pt}\n\n"
        f"**Objetivos**\n\n{g_pt}\n\n"
        f"**O que dizem as notas do curso:**\n\n{q_pt}\n\n"
        f"Implementado em {links}. Cada célula abaixo roda no kernel de verdade: namespaces, "
        f"cgroups e montagens overlay são feitos pelo glassbox, não simulados. {nav_pt}")]


SETUP = '''
# Set-up: the engine, the CLI, and a clean slate for the names this notebook uses
import os, sys, json, time, shutil, subprocess, tempfile
import glassbox
from glassbox.engine import Engine
from glassbox.errors import GlassboxError, NotFound

eng = Engine()        # state root: $GLASSBOX_ROOT, else /var/lib/glassbox
GB = os.path.join(os.path.dirname(sys.executable), "glassbox")   # the CLI of this same venv
P = "{prefix}"          # every container, image, volume and network made here starts with it


def cleanup():
    """Remove everything this notebook made (also what an interrupted run left behind)."""
    for c in eng.containers.list():
        if c.name.startswith(P):
            eng.containers.remove(c.id, force=True, volumes=True)
    for n in eng.networks.list():
        if n.name.startswith(P):
            eng.networks.remove(n.name)
    for v in eng.volumes.names():
        if v.startswith(P):
            eng.volumes.remove(v, force=True)
    for img in eng.images.list():
        for tag in img.repo_tags:
            if tag.startswith(P) or "/" + P in tag:
                try:
                    eng.images.remove(tag, force=True)
                except NotFound:
                    pass


def check(ok, good, hint):
    """The exercise checks: a clear message, never a traceback."""
    print(("✅ " + good) if ok else ("❌ " + hint))


cleanup()
BEFORE = {{i.id for i in eng.images.list()}}   # to remove the untagged images our builds leave
print(f"glassbox {{glassbox.__version__}} · state root {{eng.root}}")
'''


def setup(prefix: str):
    return [md("### Set-up", "### Preparação"), code(SETUP.format(prefix=prefix))]


def finish(extra_en: str = "", extra_pt: str = "", extra_code: str = ""):
    """The last cells: remove what the notebook made and show nothing is left."""
    src = (extra_code.strip("\n") + "\n" if extra_code else "") + '''
cleanup()
for img in eng.images.list():                 # build steps' untagged images made here
    if not img.repo_tags and img.id not in BEFORE:
        try:
            eng.images.remove(img.id, force=True)
        except GlassboxError:
            pass
left = [c.name for c in eng.containers.list() if c.name.startswith(P)]
left += [n.name for n in eng.networks.list() if n.name.startswith(P)]
left += [v for v in eng.volumes.names() if v.startswith(P)]
left += [t for i in eng.images.list() for t in i.repo_tags if t.startswith(P) or "/" + P in t]
print("left behind:", left or "nothing")
assert not left, left
'''
    return [md("### Clean-up\n\nRemove every container, image, volume and network this "
               "notebook made." + ("\n\n" + extra_en if extra_en else ""),
               "### Limpeza\n\nRemove todos os containers, imagens, volumes e redes que este "
               "notebook criou." + ("\n\n" + extra_pt if extra_pt else "")),
            code(src)]


def exercise(task_en: str, task_pt: str, attempt: str, check_fn: str, check_fn_pt: str,
             solution: str):
    """'Your turn': the task, an attempt cell (left for the student), the check, the
    solution (run so the notebook goes green unattended) and the check again."""
    return [
        md("## 🧪 Your turn\n\n" + task_en +
           "\n\nWrite your answer in the next cell and run the check after it.",
           "## 🧪 Sua vez\n\n" + task_pt +
           "\n\nEscreva sua resposta na próxima célula e rode a verificação logo depois."),
        code(attempt),
        code(check_fn, check_fn_pt),
        md("A solution (run it and check again):", "Uma solução (rode-a e verifique de novo):"),
        code(solution),
    ]
