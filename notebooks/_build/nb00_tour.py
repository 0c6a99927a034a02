"""00 · the tour: the whole Jupyter front end in one pass (build, run, cache, cgroup
monitor, live limits, layers, an OOM kill). Markdown in both languages; the code is shared
but for the Portuguese tour's ``language("pt-BR")`` and one translated print
(tests/notebooks/test_tour.py asserts on what the cells show, in either language).

Not under en/ and pt-BR/: the English tour stays at notebooks/00-tour.ipynb (the lab
opens it, tests/browser uses it), the Portuguese one sits next to it.
"""
from common import code, md

SLUG = "00-tour"
PATHS = {"en": "00-tour.ipynb", "pt-BR": "00-tour.pt-BR.ipynb"}

CELLS = [
    md("# glassbox in ten minutes\n\nEverything the Jupyter front end does, in one pass: build an image from a cell, run it,\nrebuild from the layer cache, run a container under a memory limit and **watch its cgroup**\nlive, move its limits with sliders, draw the layers images share, and let the kernel's\nOOM killer stop a container that asks for too much.\n\nEvery container here is real: its own namespaces, a cgroup, an overlay root filesystem.\nThe code behind the cells is in `engine/glassbox/jupyter/` (magics, widgets, plots).\nRun the cells in order; the whole tour takes well under a minute of machine time.",
       '# O glassbox em dez minutos\n\nTudo o que a interface Jupyter faz, de uma vez só: construir uma imagem a partir de uma célula,\nrodá-la, reconstruí-la a partir do cache de camadas, rodar um container com limite de memória e\n**observar o cgroup dele** ao vivo, mexer nos limites com sliders, desenhar as camadas que as\nimagens compartilham, e deixar o OOM killer do kernel parar um container que pede demais.\n\nCada container aqui é de verdade: seus próprios namespaces, um cgroup, um sistema de arquivos\nraiz overlay. O código por trás das células está em `engine/glassbox/jupyter/` (magics,\nwidgets, gráficos). Rode as células em ordem; o tour inteiro leva bem menos de um minuto de\nmáquina.'),
    code('%load_ext glassbox\nimport glassbox.jupyter',
         '%load_ext glassbox\nimport glassbox.jupyter\nglassbox.jupyter.language("pt-BR")   # gráficos, tabelas e widgets em português'),
    md("## 1. Build an image: `%%dockerfile`\n\nThe cell *is* the Dockerfile. The step log streams in as the build runs (`[2/3] RUN ...`),\nthen a picture of the new image's layers: busybox's layer at the bottom, the layer that\n`RUN` made on top (`CMD` only changes the image's config, it adds no layer).",
       '## 1. Construir uma imagem: `%%dockerfile`\n\nA célula *é* o Dockerfile. O log dos passos aparece enquanto o build roda (`[2/3] RUN ...`),\ne depois uma figura das camadas da nova imagem: a camada do busybox embaixo, e por cima a\ncamada que o `RUN` criou (o `CMD` só muda a configuração da imagem, não acrescenta camada).'),
    code('%%dockerfile -t tour:1\nFROM busybox\nRUN echo hi > /hi\nCMD ["cat", "/hi"]'),
    md("## 2. Run it\n\n`%container` is the `glassbox` command line inside a cell: same subcommands, same flags.\n`run --rm` streams the container's output into the cell, removes the container when it\nexits, and returns its exit status.",
       '## 2. Rodá-la\n\n`%container` é a linha de comando `glassbox` dentro de uma célula: os mesmos subcomandos, as\nmesmas flags. `run --rm` mostra a saída do container na célula, remove o container quando ele\ntermina e devolve o código de saída.'),
    code('%container run --rm tour:1'),
    md('## 3. Build again: the layer cache\n\nA second image that starts with the same instructions. Steps whose instruction and parent\nlayer are unchanged are **CACHED**: glassbox reuses the layer instead of running the step\nagain. Only the new `RUN` runs. Both images now share the `echo hi` layer.',
       '## 3. Construir de novo: o cache de camadas\n\nUma segunda imagem que começa com as mesmas instruções. Os passos cuja instrução e camada-mãe\nnão mudaram ficam **CACHED**: o glassbox reaproveita a camada em vez de rodar o passo de novo.\nSó o `RUN` novo roda. As duas imagens agora compartilham a camada do `echo hi`.'),
    code('%%dockerfile -t tour:2\nFROM busybox\nRUN echo hi > /hi\nRUN echo bye > /bye\nCMD ["cat", "/hi", "/bye"]'),
    md("## 4. A container under a memory limit\n\n`-d` runs it in the background and returns a handle; `-m 64m` writes 64 MiB into the\ncontainer's cgroup memory limit. `hog` writes a file into its own root filesystem, then\nfills `/dev/shm` (a tmpfs: files there *are* memory, charged to the cgroup) 5 MiB at a\ntime up to 40 MiB — under the limit — holds it for a few seconds, and exits.",
       '## 4. Um container com limite de memória\n\n`-d` roda o container em segundo plano e devolve um objeto que o representa; `-m 64m` grava\n64 MiB no limite de memória do cgroup do container. O `hog` grava um arquivo no próprio sistema\nde arquivos raiz e depois enche o `/dev/shm` (um tmpfs: arquivos ali *são* memória, cobrada do\ncgroup) de 5 em 5 MiB até 40 MiB — abaixo do limite —, segura por alguns segundos e termina.'),
    code("c = %container run -d -m 64m --name hog busybox sh -c 'echo oink > /hog.txt; for i in 1 2 3 4 5 6 7 8; do dd if=/dev/zero of=/dev/shm/f$i bs=1M count=5 2>/dev/null; sleep 0.4; done; sleep 3'\nc"),
    md("### Watch its cgroup: `monitor(c)`\n\nCPU % and memory, read from the container's cgroup 5 times a second by a background\nthread (the same reading as `glassbox stats`), so the kernel stays free for the next\ncells. The dashed red line is the memory limit.",
       '### Observe o cgroup dele: `monitor(c)`\n\nCPU % e memória, lidas do cgroup do container 5 vezes por segundo por uma thread em segundo\nplano (a mesma leitura do `glassbox stats`), de modo que o kernel do Jupyter fica livre para as\npróximas células. A linha vermelha tracejada é o limite de memória.'),
    code('m = glassbox.jupyter.monitor(c)\nm'),
    md('### Change its limits while it runs: `limits(c)`\n\nEach slider calls `glassbox update`, which writes the cgroup files at once. Moving the\nmemory slider from code does the same as dragging it: watch the dashed limit line in the\nchart above step up from 64 to 96 MiB.',
       '### Mude os limites com ele rodando: `limits(c)`\n\nCada slider chama `glassbox update`, que grava os arquivos do cgroup na hora. Mover o slider\nde memória pelo código é o mesmo que arrastá-lo: veja a linha tracejada do limite, no gráfico\nacima, subir de 64 para 96 MiB.'),
    code('sl = glassbox.jupyter.limits(c)\nsl'),
    code('sl.memory.value = 96          # MiB: the same as dragging the slider\nprint(sl.history[-1][1])      # what glassbox update applied\nprint("cgroup memory limit now:", c.inspect()["HostConfig"]["Memory"] // 2**20, "MiB")',
         'sl.memory.value = 96          # MiB: o mesmo que arrastar o slider\nprint(sl.history[-1][1])      # o que o glassbox update aplicou\nprint("limite de memória do cgroup agora:", c.inspect()["HostConfig"]["Memory"] // 2**20, "MiB")'),
    md('## 5. What is there: `%container ps -a`\n\nAn HTML table with the same rows as `glassbox ps -a` (`glassbox.jupyter.ps()` gives one\nwith stop / rm buttons).',
       '## 5. O que existe: `%container ps -a`\n\nUma tabela HTML com as mesmas linhas de `glassbox ps -a` (`glassbox.jupyter.ps()` dá uma com\nbotões de stop / rm).'),
    code('%container ps -a'),
    md("## 6. Layers: what images share\n\nLayers are stored once and shared. `layers()` draws the busybox layer once under every image\nthat stands on it, each image's own layers on top, and a container's **read/write layer**\nabove its image: that is where `hog` wrote `/hog.txt` (its `/dev/shm` files are in memory,\nnot in a layer).",
       '## 6. Camadas: o que as imagens compartilham\n\nAs camadas são guardadas uma vez só e compartilhadas. `layers()` desenha a camada do busybox\numa vez, embaixo de todas as imagens que se apoiam nela, as camadas próprias de cada imagem por\ncima, e a **camada read/write** de um container acima da imagem dele: é ali que o `hog` gravou\n`/hog.txt` (os arquivos do `/dev/shm` dele estão na memória, não numa camada).'),
    code('glassbox.jupyter.layers("tour:1", "tour:2", "busybox", container=c)'),
    md('When `hog` exits the chart stops by itself. `m.show()` keeps the final chart as a\nplain picture in the saved notebook.',
       'Quando o `hog` termina, o gráfico para sozinho. `m.show()` guarda o gráfico final como uma\nfigura comum no notebook salvo.'),
    code('m.wait(60)\nm.show()\nprint("hog exited with code", c.exit_code, "- OOM killed:", m.oom)'),
    md("## 7. An OOM experiment\n\nNow a container that asks for more than it may have: a 24 MiB limit, and a loop that keeps\nfilling `/dev/shm` 2 MiB at a time. When the cgroup cannot get below its limit, the\nkernel's OOM killer kills the container's processes: exit code 137 (128 + SIGKILL),\n`State.OOMKilled` true, and the kill is marked on the chart.\n\nLook closely: the first kill (the red line) hits the biggest process, a `dd`; the shell's\nloop goes on, the cgroup stays at its limit, and the killer strikes again until it takes\nthe shell itself — then the container is gone and its tmpfs memory is freed.",
       '## 7. Um experimento de OOM\n\nAgora um container que pede mais do que pode ter: limite de 24 MiB e um laço que continua\nenchendo o `/dev/shm` de 2 em 2 MiB. Quando o cgroup não consegue ficar abaixo do limite, o\nOOM killer do kernel mata os processos do container: código de saída 137 (128 + SIGKILL),\n`State.OOMKilled` verdadeiro, e a morte fica marcada no gráfico.\n\nRepare: a primeira morte (a linha vermelha) atinge o maior processo, um `dd`; o laço do shell\ncontinua, o cgroup fica no limite, e o killer ataca de novo até levar o próprio shell — aí o\ncontainer acaba e a memória do tmpfs dele é liberada.'),
    code('o = %container run -d -m 24m --name oom busybox sh -c \'sleep 1; i=0; while :; do i=$((i+1)); dd if=/dev/zero of=/dev/shm/f$i bs=1M count=2 2>/dev/null; sleep 0.1; done\'\nmo = glassbox.jupyter.monitor(o, interval=0.1, render=False)\nmo.wait(60)\nmo.show()\nprint("oom exited with code", o.exit_code, "- OOM killed:", o.inspect()["State"]["OOMKilled"])'),
    md('## 8. Clean up\n\nRemove the containers (and their read/write layers), then the images. The busybox\nlayer stays: busybox still uses it.',
       '## 8. Limpeza\n\nRemova os containers (e suas camadas read/write), depois as imagens. A camada do busybox fica:\no busybox ainda a usa.'),
    code('%container rm -f hog oom'),
    code('%container rmi tour:1 tour:2'),
    md('A build also keeps an untagged image per step (the layer cache of section 3);\n`image prune` removes the ones nothing uses any more.',
       'Um build também guarda uma imagem sem tag por passo (o cache de camadas da seção 3);\n`image prune` remove as que nada mais usa.'),
    code('%container image prune -f'),
    code('%container images'),
    md('## Summary\n\nYou built two images that share a layer, ran them, watched a cgroup live, moved its limits,\ndrew the layers, and saw the OOM killer at the limit.\n\nNext: the course takes each of these pieces apart, starting with\n[00 · Is a container a light VM?](en/00-not-a-vm.ipynb) (or the [course index](README.md)).',
       '## Resumo\n\nVocê construiu duas imagens que compartilham uma camada, rodou-as, observou um cgroup ao vivo,\nmudou os limites dele, desenhou as camadas e viu o OOM killer agir no limite.\n\nPróximo: o curso desmonta cada uma dessas peças, a começar por\n[00 · Um container é uma VM leve?](pt-BR/00-not-a-vm.ipynb) (ou o [índice do curso](README.md)).'),
]
