"""00 · quick start: the `%container` magic, `ps -a` and the layer diagram, in five cells.

Not a course chapter (no header, set-up or exercise): the shortest path from a fresh
kernel to a container run, a container list and a picture of an image's layers.
"""
from common import code, md, needs_md

SLUG = "00-quickstart"

CELLS = [
    md("""
# glassbox quickstart

glassbox runs real containers — Linux namespaces, cgroups and overlay filesystems — from this notebook. Load the extension to get the `%container` magic (the `glassbox` CLI inside a cell) and `%%dockerfile`.

Implementation: `engine/glassbox/jupyter/` (magics, widgets, plots).
""", """
# Início rápido do glassbox

O glassbox roda containers de verdade — namespaces do Linux, cgroups e sistemas de arquivos overlay — a partir deste notebook. Carregue a extensão para ter a magic `%container` (a CLI `glassbox` dentro de uma célula) e a `%%dockerfile`.

Implementação: `engine/glassbox/jupyter/` (magics, widgets, gráficos).
"""),
    code("%load_ext glassbox",
         '%load_ext glassbox\nimport glassbox.jupyter as gj\ngj.language("pt-BR")   # gráficos, tabelas e widgets em português'),
    md("""
## What this machine lets the lab do: `doctor()`

`gj.doctor()` runs the probes of `glassbox doctor` (the same command in a terminal): it *tries* each kernel feature a container is made of — user namespaces, an overlay mount, a fresh `/proc`, cgroups, bridges — for real, in throwaway child processes, and shows one line per feature with the fix when one is refused. From the lines it picks the lab's **tier**:

- **full** — root: everything, the whole course;
- **rootless (limits)** / **rootless** — an ordinary user: containers in a user namespace of your own; cgroup limits only when a cgroup subtree is delegated to you;
- **user-space** — no container can start (a mybinder.org pod): images, registries, layer trees and Dockerfile parsing still work for real.

The course reads this tier. A cell that needs more than some tiers starts with `%%needs ...` and the text above it carries a 🔒 label; on a machine whose tier does not allow it, the cell says what it needs, why, and the fix, and is skipped (no traceback, "Run All" goes on).
""", """
## O que esta máquina deixa o laboratório fazer: `doctor()`

`gj.doctor()` roda as sondas do `glassbox doctor` (o mesmo comando num terminal): ele *tenta* de verdade cada recurso do kernel de que um container é feito — user namespaces, uma montagem overlay, um `/proc` novo, cgroups, bridges —, em processos filhos descartáveis, e mostra uma linha por recurso, com a solução quando um é recusado. A partir das linhas ele escolhe o **nível** (tier) do laboratório:

- **full** — root: tudo, o curso inteiro;
- **rootless (limits)** / **rootless** — um usuário comum: containers num user namespace seu; limites de cgroup só quando uma subárvore de cgroup é delegada a você;
- **user-space** — nenhum container inicia (um pod do mybinder.org): imagens, registries, árvores de camadas e o parsing do Dockerfile funcionam de verdade.

O curso lê esse nível. Uma célula que precisa de mais do que alguns níveis começa com `%%needs ...` e o texto acima dela leva uma etiqueta 🔒; numa máquina cujo nível não permite, a célula diz do que precisa, por quê e como resolver, e é pulada (sem traceback; o "Run All" continua).
"""),
    code("import glassbox.jupyter as gj\ngj.doctor()", "gj.doctor()"),
    needs_md("containers", """
Run a command in a fresh container. Its output streams into the cell; `--rm` removes the container when it exits. The value is the exit status.
""", """
Rode um comando num container novo. A saída aparece na própria célula; `--rm` remove o container quando ele termina. O valor da célula é o código de saída.
"""),
    code("%%needs containers\n%container run --rm busybox echo hello"),
    md("""
`%%needs containers`, the cell's first line, runs the cell only when the tier allows a container to start. `%container ps -a` returns an HTML table of every container (the same rows as `glassbox ps -a`). The one above is gone: `--rm`.
""", """
`%%needs containers`, a primeira linha da célula, só a roda quando o nível permite iniciar um container. `%container ps -a` devolve uma tabela HTML com todos os containers (as mesmas linhas de `glassbox ps -a`). O de cima já não está lá: `--rm`.
"""),
    code("%container ps -a"),
    md("""
An image is a stack of layers. `layers()` draws them: shared layers once at the bottom, each image's own on top, a container's read/write layer above.
""", """
Uma imagem é uma pilha de camadas. `layers()` as desenha: as camadas compartilhadas uma vez só, embaixo; as de cada imagem por cima; e a camada de leitura/escrita de um container acima de tudo.
"""),
    code('import glassbox.jupyter as gj\ngj.layers("busybox")'),
    md("""
## Summary

- `%container ...` is the `glassbox` CLI in a cell: `run`, `ps -a`, `rm`, `images`, the same
  commands as Docker's.
- `gj.doctor()` shows what this machine allows and the lab's tier; `%%needs ...` gates a
  cell that needs more.
- `gj.layers(...)` draws an image's layers from the local store.

Next: [00 · Is a container a light VM?](00-not-a-vm.ipynb), the course's first chapter.
""", """
## Resumo

- `%container ...` é a CLI `glassbox` numa célula: `run`, `ps -a`, `rm`, `images`, os mesmos
  comandos do Docker.
- `gj.doctor()` mostra o que esta máquina permite e o nível do laboratório; `%%needs ...`
  protege uma célula que precisa de mais.
- `gj.layers(...)` desenha as camadas de uma imagem a partir do armazenamento local.

Próximo: [00 · Um container é uma VM leve?](00-not-a-vm.ipynb), o primeiro capítulo do curso.
"""),
]
