"""00 · quick start: the `%container` magic, `ps -a` and the layer diagram, in five cells.

Not a course chapter (no header, set-up or exercise): the shortest path from a fresh
kernel to a container run, a container list and a picture of an image's layers.
"""
from common import code, md

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
Run a command in a fresh container. Its output streams into the cell; `--rm` removes the container when it exits. The value is the exit status.
""", """
Rode um comando num container novo. A saída aparece na própria célula; `--rm` remove o container quando ele termina. O valor da célula é o código de saída.
"""),
    code("%container run --rm busybox echo hello"),
    md("""
`%container ps -a` returns an HTML table of every container (the same rows as `glassbox ps -a`). The one above is gone: `--rm`.
""", """
`%container ps -a` devolve uma tabela HTML com todos os containers (as mesmas linhas de `glassbox ps -a`). O de cima já não está lá: `--rm`.
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
- `gj.layers(...)` draws an image's layers from the local store.

Next: [00 · Is a container a light VM?](00-not-a-vm.ipynb), the course's first chapter.
""", """
## Resumo

- `%container ...` é a CLI `glassbox` numa célula: `run`, `ps -a`, `rm`, `images`, os mesmos
  comandos do Docker.
- `gj.layers(...)` desenha as camadas de uma imagem a partir do armazenamento local.

Próximo: [00 · Um container é uma VM leve?](00-not-a-vm.ipynb), o primeiro capítulo do curso.
"""),
]
