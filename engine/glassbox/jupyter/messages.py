"""The words the notebook front end shows, in English and Brazilian Portuguese.

Every string a student reads in a notebook that comes from :mod:`glassbox.jupyter`
— chart titles and axes, widget labels and buttons, table headers, the result of
an experiment — lives in :data:`CATALOGUE`, one entry per message, with one text
per language. Code asks for a message by its key::

    from glassbox.jupyter.messages import t
    t("chart.memory")                 # "memory MiB"  /  "memória (MiB)"
    t("chart.limit", mib=64)          # "limit 64 MiB" / "limite 64 MiB"

The language is chosen once per kernel: :func:`language` (``gj.language("pt-BR")``
in a notebook's first cell), otherwise the locale (``LC_ALL``, ``LC_MESSAGES``,
``LANG``: anything starting with ``pt`` is Portuguese), otherwise English.

Engine errors (``glassbox.errors``) are *not* here: they are the CLI's and the
daemon's too, and stay in English like Docker's.
"""

from __future__ import annotations

import os

LANGUAGES = ("en", "pt-BR")

CATALOGUE: dict[str, dict[str, str]] = {
    # ---- the live chart (plots.stats_figure, widgets.Monitor) -------------------------
    "chart.cpu": {"en": "CPU %", "pt-BR": "CPU %"},
    "chart.memory": {"en": "memory MiB", "pt-BR": "memória (MiB)"},
    "chart.seconds": {"en": "seconds", "pt-BR": "segundos"},
    "chart.limit": {"en": "limit {mib:.0f} MiB", "pt-BR": "limite {mib:.0f} MiB"},
    "chart.oom": {"en": "OOM kill", "pt-BR": "OOM kill"},
    "chart.exited": {"en": "exited {code}", "pt-BR": "saiu com {code}"},
    "chart.oom_killed": {"en": "OOM killed", "pt-BR": "morto pelo OOM killer"},
    "layers.title": {"en": "image layers (bottom = base; shared layers drawn once)",
                     "pt-BR": "camadas das imagens (embaixo = base; camadas compartilhadas "
                              "aparecem uma vez)"},
    "layers.no_changes": {"en": "no changes", "pt-BR": "sem mudanças"},
    # ---- widgets ------------------------------------------------------------------------
    "monitor.stop": {"en": "stop monitoring", "pt-BR": "parar o monitor"},
    "monitor.watching": {"en": "monitoring <b>{name}</b> …", "pt-BR": "monitorando <b>{name}</b> …"},
    "monitor.nothing": {"en": "{error} — nothing to monitor", "pt-BR": "{error} — nada a monitorar"},
    "monitor.not_running": {"en": "container {name} is not running ({what}): nothing to sample. "
                                  "Start it, then monitor again.",
                            "pt-BR": "o container {name} não está rodando ({what}): não há o que "
                                     "amostrar. Inicie-o e monitore de novo."},
    "monitor.line": {"en": "CPU {cpu:.1f}% · memory {mem} / {limit} · pids {pids} · {n} samples "
                           "({rate:.1f}/s)",
                     "pt-BR": "CPU {cpu:.1f}% · memória {mem} / {limit} · pids {pids} · "
                              "{n} amostras ({rate:.1f}/s)"},
    "monitor.no_limit": {"en": "no limit", "pt-BR": "sem limite"},
    "monitor.removed": {"en": "removed", "pt-BR": "removido"},
    "monitor.exited": {"en": "exited ({code})", "pt-BR": "saiu ({code})"},
    "monitor.stopped": {"en": "stopped monitoring", "pt-BR": "monitor parado"},
    "monitor.running": {"en": "running", "pt-BR": "rodando"},
    "monitor.failed": {"en": "chart failed: {error}", "pt-BR": "o gráfico falhou: {error}"},
    "monitor.fallback": {"en": "monitor of {name} ({id}): a live chart in JupyterLab (glassbox "
                               "extension) or an ipywidget; m.show() keeps a PNG",
                         "pt-BR": "monitor de {name} ({id}): um gráfico ao vivo no JupyterLab "
                                  "(extensão do glassbox) ou um ipywidget; m.show() guarda um PNG"},
    "sliders.memory": {"en": "memory (MiB)", "pt-BR": "memória (MiB)"},
    "sliders.cpus": {"en": "CPUs", "pt-BR": "CPUs"},
    "sliders.pids": {"en": "pids", "pt-BR": "pids"},
    "sliders.title": {"en": "limits of <b>{name}</b> (<code>glassbox update</code>, live)",
                      "pt-BR": "limites de <b>{name}</b> (<code>glassbox update</code>, ao vivo)"},
    "sliders.now": {"en": "now: memory {memory}, cpus {cpus}, pids {pids}",
                    "pt-BR": "agora: memória {memory}, cpus {cpus}, pids {pids}"},
    "sliders.unlimited": {"en": "unlimited", "pt-BR": "sem limite"},
    "sliders.applied": {"en": "applied", "pt-BR": "aplicado"},
    "ps.refresh": {"en": "refresh", "pt-BR": "atualizar"},
    "ps.none": {"en": "no containers", "pt-BR": "nenhum container"},
    "ps.done": {"en": "{what} {id}: done", "pt-BR": "{what} {id}: feito"},
    # ---- tables and handles (display.py, objects.py) ---------------------------------------
    "ps.headers": {"en": "Container ID|Image|Command|Created|Status|Names",
                   "pt-BR": "ID do container|Imagem|Comando|Criado|Status|Nomes"},
    "ps.title": {"en": "Containers", "pt-BR": "Containers"},
    "images.headers": {"en": "Repository|Tag|Image ID|Created|Size",
                       "pt-BR": "Repositório|Tag|ID da imagem|Criada|Tamanho"},
    "images.title": {"en": "Images", "pt-BR": "Imagens"},
    "table.empty": {"en": "none", "pt-BR": "nenhum"},
    "error.label": {"en": "Error:", "pt-BR": "Erro:"},
    "exit.code": {"en": "exit code {code}", "pt-BR": "código de saída {code}"},
    "exit.oom": {"en": " (OOM killed)", "pt-BR": " (morto pelo OOM killer)"},
    "obj.image": {"en": "image", "pt-BR": "imagem"},
    "obj.command": {"en": "command", "pt-BR": "comando"},
    "obj.limits": {"en": "limits", "pt-BR": "limites"},
    "obj.pid": {"en": "pid (host)", "pt-BR": "pid (no host)"},
    "obj.none": {"en": "none", "pt-BR": "nenhum"},
    "obj.layers": {"en": "{n} layers", "pt-BR": "{n} camadas"},
    "obj.layer_headers": {"en": "#|layer|size|created by", "pt-BR": "#|camada|tamanho|criada por"},
    "build.layers_of": {"en": "layers of {name}", "pt-BR": "camadas de {name}"},
    # ---- experiments (experiments.py) ----------------------------------------------------
    "exp.col.trial": {"en": "trial", "pt-BR": "ensaio"},
    "exp.col.ended": {"en": "ended", "pt-BR": "fim"},
    "exp.col.exit": {"en": "exit code", "pt-BR": "código de saída"},
    "exp.col.oom": {"en": "OOM kills", "pt-BR": "OOM kills"},
    "exp.col.peak": {"en": "peak memory MiB", "pt-BR": "pico de memória (MiB)"},
    "exp.col.limit": {"en": "limit MiB", "pt-BR": "limite (MiB)"},
    "exp.col.cpu": {"en": "CPU s", "pt-BR": "CPU (s)"},
    "exp.col.share": {"en": "CPU share %", "pt-BR": "fatia da CPU (%)"},
    "exp.col.throttled": {"en": "throttled s", "pt-BR": "estrangulado (s)"},
    "exp.col.pids": {"en": "pids peak", "pt-BR": "pico de pids"},
    "exp.col.wall": {"en": "wall s", "pt-BR": "duração (s)"},
    "exp.ended.exited": {"en": "exited", "pt-BR": "saiu"},
    "exp.ended.oom": {"en": "OOM killed", "pt-BR": "morto por OOM"},
    "exp.ended.stopped": {"en": "stopped after {s:g} s", "pt-BR": "parado após {s:g} s"},
    "exp.title": {"en": "experiment {name}: {n} trials", "pt-BR": "experimento {name}: {n} ensaios"},
    "exp.memory_over_time": {"en": "memory over time (dashed: each trial's limit)",
                             "pt-BR": "memória ao longo do tempo (tracejado: o limite de cada "
                                      "ensaio)"},
    "exp.cpu_bars": {"en": "CPU time of each trial", "pt-BR": "tempo de CPU de cada ensaio"},
    "exp.share_bars": {"en": "share of the CPU time (together)",
                       "pt-BR": "fatia do tempo de CPU (juntos)"},
    "exp.cpu_seconds": {"en": "CPU seconds", "pt-BR": "segundos de CPU"},
    "exp.share_pct": {"en": "% of the CPU time used by all", "pt-BR": "% do tempo de CPU de todos"},
    "exp.running": {"en": "trial {i}/{n}: {label} …", "pt-BR": "ensaio {i}/{n}: {label} …"},
    "exp.running_together": {"en": "{n} trials together for {s:g} s: {labels} …",
                             "pt-BR": "{n} ensaios juntos por {s:g} s: {labels} …"},
    # ---- a registry of the notebook's own (localregistry.py) ------------------------------
    "registry.running": {"en": "registry {name}: listening on {address} (pid {pid}), "
                               "storage in {storage}",
                         "pt-BR": "registry {name}: escutando em {address} (pid {pid}), "
                                  "armazenamento em {storage}"},
    "registry.stopped": {"en": "registry {name}: stopped (exit status {code}), it was on {address}",
                         "pt-BR": "registry {name}: parado (status de saída {code}), estava em "
                                  "{address}"},
    # ---- the lab's tier (tiers.py: doctor(), %%needs) -------------------------------------
    "doctor.title": {"en": "glassbox doctor: what this machine lets the lab do",
                     "pt-BR": "glassbox doctor: o que esta máquina deixa o laboratório fazer"},
    "doctor.headers": {"en": "feature|status|detail|fix",
                       "pt-BR": "recurso|situação|detalhe|como resolver"},
    "tier.label": {"en": "This lab's tier:", "pt-BR": "Nível (tier) deste laboratório:"},
    "tier.forced": {"en": " (forced by {var}, for tests)", "pt-BR": " (forçado por {var}, para testes)"},
    "tier.meaning.full": {"en": "root: every cell of the course runs — containers, limits, "
                                "networks and the host's side of them",
                          "pt-BR": "root: toda célula do curso roda — containers, limites, redes "
                                   "e o lado do host de cada um"},
    "tier.meaning.rootless (limits)": {
        "en": "containers in a user namespace, with limits in the delegated cgroup; the few "
              "cells that look at the host as root say so",
        "pt-BR": "containers num user namespace, com limites no cgroup delegado; as poucas "
                 "células que olham o host como root avisam"},
    "tier.meaning.rootless": {
        "en": "containers in a user namespace; limits are refused until a cgroup is delegated, "
              "and cells that need them or root say so",
        "pt-BR": "containers num user namespace; limites recusados até um cgroup ser delegado, "
                 "e as células que precisam deles ou de root avisam"},
    "tier.meaning.user-space": {
        "en": "no container can start here; images, registries, layer trees, Dockerfile "
              "parsing and specs still work for real, and every other cell says what it needs",
        "pt-BR": "nenhum container inicia aqui; imagens, registries, árvores de camadas, o "
                 "parsing do Dockerfile e as specs funcionam de verdade, e as outras células "
                 "dizem do que precisam"},
    "need.label.containers": {"en": "🔒 needs containers (not in the user-space tier)",
                              "pt-BR": "🔒 precisa de containers (não no nível user-space)"},
    "need.label.networks": {"en": "🔒 needs networks (not in the user-space tier)",
                            "pt-BR": "🔒 precisa de redes (não no nível user-space)"},
    "need.label.limits": {"en": "🔒 needs cgroup limits (full or rootless (limits) tier)",
                          "pt-BR": "🔒 precisa de limites de cgroup (nível full ou rootless (limits))"},
    "need.label.root": {"en": "🔒 needs root (full tier)",
                        "pt-BR": "🔒 precisa de root (nível full)"},
    "need.what.containers": {"en": "a container to start", "pt-BR": "iniciar um container"},
    "need.what.networks": {"en": "a container network (a bridge and veths)",
                           "pt-BR": "uma rede de containers (uma bridge e veths)"},
    "need.what.limits": {"en": "cgroup limits (-m, --cpus, --pids-limit)",
                         "pt-BR": "limites de cgroup (-m, --cpus, --pids-limit)"},
    "need.what.root": {"en": "root on the host", "pt-BR": "root no host"},
    "need.skipped": {"en": "Cell skipped: it needs {what}, and this lab's tier is {tier}",
                     "pt-BR": "Célula pulada: ela precisa de {what}, e o nível deste laboratório "
                              "é {tier}"},
    "need.because": {"en": "Why: {why}", "pt-BR": "Por quê: {why}"},
    "need.fix": {"en": "Fix: {fix}", "pt-BR": "Como resolver: {fix}"},
    "need.why.forced": {"en": "the tier was set to {tier}", "pt-BR": "o nível foi fixado em {tier}"},
    "need.why.user-space": {"en": "no container can start on this machine ({why})",
                            "pt-BR": "nenhum container inicia nesta máquina ({why})"},
    "need.fix.user-space": {"en": "run the lab on a machine with user namespaces and overlay "
                                  "mounts (a VM, a laptop, a JupyterHub account); "
                                  "glassbox doctor tells what is missing",
                            "pt-BR": "rode o laboratório numa máquina com user namespaces e "
                                     "montagens overlay (uma VM, um laptop, uma conta de "
                                     "JupyterHub); o glassbox doctor diz o que falta"},
    "need.why.limits": {"en": "no cgroup subtree is delegated to this user, so the kernel "
                              "refuses to set limits for its containers",
                        "pt-BR": "nenhuma subárvore de cgroup está delegada a este usuário, "
                                 "então o kernel recusa limites para os containers dele"},
    "need.fix.limits": {"en": "as root: glassbox system setup-user <your user>",
                        "pt-BR": "como root: glassbox system setup-user <seu usuário>"},
    "need.why.root": {"en": "the lab runs rootless: a container's root is your own "
                            "uid, which may not see or grant what only the host's root may",
                      "pt-BR": "o laboratório roda sem root (rootless): o root de um "
                               "container é o seu próprio uid, que não pode ver nem conceder o "
                               "que só o root do host pode"},
    "need.fix.root": {"en": "run the lab as root (a VM of your own); the text above the cell "
                            "says what to look at instead",
                      "pt-BR": "rode o laboratório como root (numa VM sua); o texto acima da "
                               "célula diz o que olhar no lugar"},
}


_current: str | None = None


def _from_locale() -> str:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "pt-BR" if value.lower().startswith("pt") else "en"
    return "en"


def language(lang: str | None = None) -> str:
    """The notebook's language: ``language("pt-BR")`` sets it, ``language()`` tells it.

    Accepts ``"en"``, ``"pt-BR"`` (also ``"pt"``, ``"pt_BR"``, any case). Unset, the
    locale decides. Returns the language now in use.
    """
    global _current
    if lang is not None:
        norm = lang.replace("_", "-").lower()
        if norm in ("en", "en-us", "en-gb"):
            _current = "en"
        elif norm in ("pt", "pt-br"):
            _current = "pt-BR"
        else:
            from ..errors import InvalidArgument
            raise InvalidArgument(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return _current or _from_locale()


def t(key: str, **values) -> str:
    """The message ``key`` in the current language, with ``values`` filled in."""
    texts = CATALOGUE[key]
    text = texts.get(language()) or texts["en"]
    return text.format(**values) if values else text
