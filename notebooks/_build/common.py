"""Cells every course notebook shares: the header, the set-up, the clean-up.

A cell is a tuple:
  ("md", english, portuguese)          markdown, one text per language
  ("code", source)                     the same code in both languages
  ("code", english_src, portuguese_src)  code whose printed messages are translated
  ... + (metadata,)                      a code cell may end with its cell metadata (a dict)
"""

import re


def md(en: str, pt: str):
    return ("md", en.strip("\n"), pt.strip("\n"))


def code(src: str, pt: str | None = None, meta: dict | None = None):
    """A code cell; ``meta`` is cell metadata (``{"jupyter": {"source_hidden": True}}``)."""
    src = src.strip("\n")
    cell = ("code", src) if pt is None else ("code", src, pt.strip("\n"))
    return cell + (meta,) if meta else cell


def header(num: int | str, title_en: str, title_pt: str, goals_en: list[str], goals_pt: list[str],
           packages: list[str], quote_pt: str, quote_en: str):
    """Title, goals, the notes' own words, and the package(s) that implement the idea."""
    links = ", ".join(f"[`engine/glassbox/{p}`](../../engine/glassbox/{p})" for p in packages)
    g_en = "\n".join(f"- {g}" for g in goals_en)
    g_pt = "\n".join(f"- {g}" for g in goals_pt)
    q_pt = "\n".join("> " + ln if ln else ">" for ln in quote_pt.strip().splitlines())
    q_en = "\n".join("> " + ln if ln else ">" for ln in quote_en.strip().splitlines())
    nav_en = "[course index](../README.md)"
    nav_pt = "[índice do curso](../README.md)"
    num = num if isinstance(num, str) else f"{num:02d}"   # "10b": a chapter placed between two
    return [md(
        f"# {num} · {title_en}\n\n"
        f"**Goals**\n\n{g_en}\n\n"
        f"**What the course notes say** (translated from the Portuguese notes):\n\n{q_en}\n\n"
        f"Implemented in {links}. Every cell below runs on the real kernel: namespaces, "
        f"cgroups and overlay mounts are made by glassbox, not simulated. {nav_en}",
        f"# {num} · {title_pt}\n\n"
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

import glassbox.jupyter as gj
gj.language("{lang}")  # charts, widgets and tables from glassbox.jupyter in this language
%load_ext glassbox.jupyter.tiers
# ↑ %%needs: a cell that needs more than this machine's tier (gj.tier()) says so and is skipped
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


SOLUTIONS = {{}}   # the hidden solution cells fill it in


def solution(n=1):
    """Run exercise n's hidden solution (then run its check again)."""
    exec(get_ipython().transform_cell(SOLUTIONS[n]), globals())


cleanup()
BEFORE = {{i.id for i in eng.images.list()}}   # to remove the untagged images our builds leave
print(f"glassbox {{glassbox.__version__}} · {state_root} {{eng.root}} · {tier} {{gj.tier()}}")
'''


SETUP_PT = {
    "# Set-up: the engine, the CLI, and a clean slate for the names this notebook uses":
        "# Preparação: o engine, a CLI e uma limpeza dos nomes que este notebook usa",
    "# charts, widgets and tables from glassbox.jupyter in this language":
        "# gráficos, widgets e tabelas do glassbox.jupyter neste idioma",
    "# ↑ %%needs: a cell that needs more than this machine's tier (gj.tier()) says so and is skipped":
        "# ↑ %%needs: uma célula que precisa de mais do que o nível desta máquina (gj.tier()) "
        "avisa e é pulada",
    "# state root: $GLASSBOX_ROOT, else /var/lib/glassbox":
        "# diretório de estado: $GLASSBOX_ROOT, senão /var/lib/glassbox",
    "# the CLI of this same venv": "# a CLI deste mesmo venv",
    "# every container, image, volume and network made here starts with it":
        "# todo container, imagem, volume e rede criados aqui começam com isto",
    "Remove everything this notebook made (also what an interrupted run left behind).":
        "Remove tudo o que este notebook criou (também o que uma execução interrompida deixou).",
    "The exercise checks: a clear message, never a traceback.":
        "As verificações dos exercícios: uma mensagem clara, nunca um traceback.",
    "# the hidden solution cells fill it in": "# as células de solução escondidas o preenchem",
    "Run exercise n's hidden solution (then run its check again).":
        "Roda a solução escondida do exercício n (depois rode a verificação de novo).",
    "# to remove the untagged images our builds leave":
        "# para remover as imagens sem tag que nossos builds deixam",
}
"""The set-up cell's comments in Portuguese (the code is the same)."""

ATTEMPT_PT = {": run nbinst-who, then read /proc/<pid>/status and uid_map":
              ": rode o nbinst-who, depois leia /proc/<pid>/status e uid_map",
              "# your code here": "# seu código aqui", "# your commands here": "# seus comandos aqui",
              "# your command here": "# seu comando aqui", "e.g.": "p.ex.", ", then ": ", depois ",
              ": the Dockerfile, ": ": o Dockerfile, ",
              "then the number of distinct layers": "depois o número de camadas distintas",
              "work only on `merged`": "trabalhe só em `merged`",
              "then commit it while it runs": "depois faça o commit com ele rodando",
              "% of the CPU for shares": "% da CPU para os shares",
              " and then ": " e depois ", "depois the reader": "depois o leitor",
              "depois the number of distinct layers": "depois o número de camadas distintas",
              "depois commit it while it runs": "depois faça o commit com ele rodando",
              "# the check reads the registry's log from here on":
                  "# a verificação lê o log do registry a partir daqui",
              "# the check reads the api() requests sent from here on":
                  "# a verificação lê os pedidos de api() enviados a partir daqui"}
"""The attempt cells' comments in Portuguese."""


def _pt(src: str, table: dict) -> str:
    for en, pt in table.items():
        src = src.replace(en, pt)
    return src


def code_pt(src: str, table: dict[str, str], meta: dict | None = None):
    """A code cell whose Portuguese twin is ``src`` with ``table``'s replacements (the
    printed words and the comments; the code itself stays the same)."""
    src = src.strip("\n")
    pt = _pt(src, table)
    assert pt != src, "code_pt: no replacement applied (the table does not match the code)"
    return code(src, pt, meta=meta)


def setup(prefix: str):
    pt = _pt(SETUP.format(prefix=prefix, lang="pt-BR", state_root="diretório de estado (state root)",
                          tier="nível do laboratório (gj.doctor())"), SETUP_PT)
    return [md("### Set-up", "### Preparação"),
            code(SETUP.format(prefix=prefix, lang="en", state_root="state root",
                              tier="lab tier (gj.doctor())"), pt)]


def needs_md(need: str, en: str, pt: str):
    """The markdown above a cell that starts with ``%%needs NEED``: a visible label
    (``🔒 needs root (full tier)``) from the same catalogue the magic speaks from
    (glassbox.jupyter.messages ``need.label.*``), then the text."""
    from glassbox.jupyter.messages import CATALOGUE
    lab = CATALOGUE[f"need.label.{need}"]
    return md(_labelled(en.strip("\n"), f"**{lab['en']}**"),
              _labelled(pt.strip("\n"), f"**{lab['pt-BR']}**"))


def _labelled(text: str, label: str) -> str:
    """``label`` as the first paragraph of a markdown text (under its heading, if any)."""
    if text.startswith("#"):
        head, _, rest = text.partition("\n")
        return f"{head}\n\n{label}\n\n{rest.lstrip(chr(10))}"
    return f"{label}\n\n{text}"


def gate(cells: list, need: str, *fragments: str, note_en: str = "", note_pt: str = "") -> list:
    """Mark the code cells that need ``need`` (one of glassbox.jupyter.tiers.NEEDS): each
    code cell whose English source contains one of ``fragments`` gets ``%%needs NEED`` as
    its first line (both languages), and the nearest markdown cell above it gets the 🔒
    label (once), with ``note_en``/``note_pt`` (what to do instead on a lesser tier) under
    it. Every fragment must match a cell, so an edited cell cannot silently lose its gate."""
    from glassbox.jupyter.messages import CATALOGUE
    lab = CATALOGUE[f"need.label.{need}"]
    out = list(cells)
    used = set()
    labelled = set()
    for i, cell in enumerate(out):
        if cell[0] != "code":
            continue
        hit = [f for f in fragments if f in cell[1]]
        if not hit:
            continue
        used.update(hit)
        meta = cell[-1] if isinstance(cell[-1], dict) else None
        texts = cell[1:-1] if meta else cell[1:]
        if texts[0].startswith("%%needs"):
            continue
        texts = tuple(f"%%needs {need}\n" + t for t in texts)
        out[i] = ("code",) + texts + ((meta,) if meta else ())
        j = i - 1
        while j >= 0 and out[j][0] != "md":
            j -= 1
        if j >= 0 and j not in labelled:
            labelled.add(j)
            _, en, pt = out[j]
            if lab["en"] not in en:
                first = len(labelled) == 1          # the note once, under the first label
                out[j] = ("md", _labelled(en, f"**{lab['en']}**" + (f" {note_en}" if first and note_en else "")),
                          _labelled(pt, f"**{lab['pt-BR']}**" + (f" {note_pt}" if first and note_pt else "")))
    missing = [f for f in fragments if f not in used]
    assert not missing, f"gate({need!r}): no code cell contains {missing}"
    return out


def notes_vs_kernel(say_en: str, shows_en: str, say_pt: str, shows_pt: str):
    """The box that corrects the notes in the open: what they say, what the kernel shows."""
    box = ('<div style="border-left:4px solid #f9a825;background:#fffde7;padding:2px 14px">\n\n'
           "**📒 {a}** {say}\n\n**🔬 {b}** {shows}\n\n</div>")
    return md(box.format(a="The notes say:", b="The kernel shows:", say=say_en.strip(),
                         shows=shows_en.strip()),
              box.format(a="As notas dizem:", b="O kernel mostra:", say=say_pt.strip(),
                         shows=shows_pt.strip()))


def finish(extra_en: str = "", extra_pt: str = "", extra_code: str = "", extra_code_pt: dict | None = None):
    """The last cells: remove what the notebook made and show nothing is left.
    ``extra_code`` runs first; ``extra_code_pt`` translates what it prints (see :func:`_pt`)."""
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
    src_pt = _pt(src, extra_code_pt or {}).replace('print("left behind:", left or "nothing")',
                                                   'print("ficou para trás:", left or "nada")').replace(
        "# build steps' untagged images made here", "# imagens sem tag deixadas pelos builds daqui")
    return [md("### Clean-up\n\nRemove every container, image, volume and network this "
               "notebook made." + ("\n\n" + extra_en if extra_en else ""),
               "### Limpeza\n\nRemove todos os containers, imagens, volumes e redes que este "
               "notebook criou." + ("\n\n" + extra_pt if extra_pt else "")),
            code(src, src_pt)]


def exercise(task_en: str, task_pt: str, attempt: str, check_fn: str, check_fn_pt: str,
             solution: str, n: int = 1):
    """'Your turn': the task, the hidden solution, the attempt cell (left for the
    student), and the check.

    "Run All" leaves the exercise unsolved, so the check says ❌ and what is
    missing. The solution sits in a collapsed cell (``source_hidden``) that only
    *stores* it; ``solution(n)`` runs it. tests/notebooks runs every notebook a
    second time with each attempt cell (tag ``attempt``, metadata
    ``glassbox.exercise``) replaced by ``solution(n)``, and then the check must say ✅.
    """
    lines = solution.strip("\n").splitlines()
    if lines and re.fullmatch(r"check_\w+\(\)", lines[-1].strip()):
        lines = lines[:-1]              # the student runs the check cell after it
    body = "\n".join(lines)
    assert "'''" not in body, "a solution may not contain triple single quotes"
    hidden = {"jupyter": {"source_hidden": True}, "tags": ["solution"],
              "glassbox": {"exercise": n}}
    return [
        md("## 🧪 Your turn\n\n" + task_en +
           "\n\nWrite your answer in the attempt cell and run the check after it. Stuck? "
           f"The collapsed cell above the attempt holds a solution: `solution({n})` runs it.",
           "## 🧪 Sua vez\n\n" + task_pt +
           "\n\nEscreva sua resposta na célula de tentativa e rode a verificação logo depois. "
           "Empacou? A célula recolhida acima da tentativa guarda uma solução: "
           f"`solution({n})` a executa."),
        code(f"# 🔒 solution {n} (hidden): stored, not run. solution({n}) runs it.\n"
             f"SOLUTIONS[{n}] = r'''\n{body}\n'''",
             f"# 🔒 solução {n} (escondida): guardada, não executada. solution({n}) a executa.\n"
             f"SOLUTIONS[{n}] = r'''\n{body}\n'''", meta=hidden),
        code(attempt, _pt(attempt, ATTEMPT_PT), meta={"tags": ["attempt"], "glassbox": {"exercise": n}}),
        code(check_fn, check_fn_pt, meta={"tags": ["check"], "glassbox": {"exercise": n}}),
    ]


def summary(points_en: list[str], points_pt: list[str], next_en: str, next_pt: str):
    """The closing cell every chapter has: what it showed, in a few lines, and where to go
    next (a markdown link to the following notebook)."""
    assert len(points_en) == len(points_pt), "a summary has the same points in both languages"
    return md("## Summary\n\n" + "\n".join(f"- {p}" for p in points_en) + f"\n\nNext: {next_en}",
              "## Resumo\n\n" + "\n".join(f"- {p}" for p in points_pt) + f"\n\nPróximo: {next_pt}")
