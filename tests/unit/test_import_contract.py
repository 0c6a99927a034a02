"""The front-end contract, checked on the source: front ends reach the engine only
through :mod:`glassbox.engine` and the value modules it works in.

The front ends (``cli/``, the daemon's routes in ``daemon/``, ``jupyter/``, ``lab/``)
are handed an ``Engine`` or a ``RemoteEngine`` and must work on either, so none may
open a store, the runtime or ``_sys`` by itself: what it did would bypass the daemon
(``-H``) and the engine's own rules. Every ``import`` in their source files (also the
lazy ones inside functions) is read with :mod:`ast` and checked against

* ``ALLOWED``: the facade and pure value modules, each with the reason;
* ``OWN_BUSINESS``: ``(file, module)`` pairs that are that one front end's own work
  (the magic running the CLI's grammar, ``cp`` unpacking on the client), each with
  the reason; an entry no longer imported fails too;
* ``KNOWN``: reaches that are there today, one ``(file, module)`` pair each, each a
  verb still to move behind an ``Engine`` method. The list may only shrink: an entry
  that is no longer true fails the test too, so it is removed when fixed.

Anything else — ``from glassbox.runtime.shim import ...`` in a front end, say — fails.
"""

from __future__ import annotations

import ast
import os

import glassbox

PKG = os.path.dirname(glassbox.__file__)
FRONT_ENDS = ("cli", "daemon", "jupyter", "lab")

ALLOWED = {
    "glassbox.engine": "the facade itself: Engine, RunResult, LayerInfo",
    "glassbox.errors": "the error tree every front end maps to its exit code / status",
    "glassbox.__version__": "the version string",
    "glassbox.containers.options": "CreateOptions, the value a run/create is described by",
    "glassbox.cgroups.limits": "Limits and parse_bytes: pure values and parsing",
    "glassbox.cgroups.stats": "Stats and cpu_percent: the value stats returns, pure maths",
    "glassbox.containers.restart": "RestartPolicy: a pure value and its parser",
    "glassbox.containers.health": "the healthcheck config value and its status text",
    "glassbox.images.reference": "image-reference parsing, pure",
    "glassbox.network.docs": "Docker's network documents made from records (presentation)",
    "glassbox.namespaces": "the namespace kinds and the read-only /proc/<pid>/ns table",
    "glassbox.rootless.paths": "where a user's state root and socket live (path rules)",
    "glassbox._files.timestamp": "the one timestamp format",
    "glassbox._files.write_all": "os.write until all is written (a pipe or pty takes a "
                                 "little at a time): no engine state",
    "glassbox.present": "the words every front end shows: tables, sizes, times, ps/images/"
                        "stats rows, status text, ps filters (one module, not each other's)",
    "glassbox.events": "Docker's events seen on a state root: snapshots read through the "
                       "Engine's verbs, diffed (the daemon's /events and the lab's hub)",
    "glassbox.daemon.client": "RemoteEngine: the Engine over a daemon, picked by -H / "
                              "GLASSBOX_HOST (cli.main, lab.connection)",
    "glassbox.doctor": "`glassbox doctor` prints the doctor's own report",
    "glassbox.network.plan": "a container's planned endpoints, the MAC check and the "
                             "NetworkSettings document made from them: pure values",
    "glassbox.cgroups.devices.parse_device": "--device parsed into a pure DeviceMapping "
                                             "(the -H client sends it as Docker's JSON)",
    "glassbox.images.manifest": "OCI manifest documents and the host's platform: pure "
                                "values (media types, descriptors, platform matching)",
    "glassbox.safejson": "json.loads with a depth limit, for input from outside",
    "glassbox.containers.detach": "Docker's --detach-keys parsed, and the scanner that finds "
                                  "them in typed input: pure (the CLI's attach, the daemon's)",
    "glassbox.sampler": "a container's stats over time, polled through Engine verbs only "
                        "(the notebook's monitor and the lab's charts share it)",
    "glassbox.layertree": "images' layer stacks read through Engine verbs, and their "
                          "shared-layer layout (pure): the notebook's and the panel's tree",
    "glassbox.build.dockerfile.parse_duration": "Go's duration syntax (10m, 1h30m), pure "
                                                "parsing: the images filter `until` takes it",
    "glassbox.quota": "a state root's storage ceiling (statvfs of a path, read-only) and "
                      "the wording of ENOSPC: main_code turns a bare ENOSPC into it",
}

EXEMPT_FILES = {
    "cli/agent.py": "the warm agent is the engine's process: it pre-imports the engine",
    "daemon/client.py": "RemoteEngine is an implementation of the Engine protocol",
    "daemon/spawner.py": "starts the daemon's container processes (engine side)",
    "daemon/_exec_runner.py": "the exec helper process the daemon spawns (engine side)",
}

OWN_BUSINESS = {
    # one front end's own work, not a verb on the engine: allowed to that file only
    ("jupyter/magics.py", "glassbox.cli.main"):
        "%container is the CLI in a cell: it runs the very command (run_command)",
    ("jupyter/magics.py", "glassbox.cli.parser"):
        "%container parses with the CLI's own grammar, so flags never drift",
    ("jupyter/magics.py", "glassbox.cli.commands"):
        "create_options: that grammar's run flags as CreateOptions, as the CLI maps them",
    ("cli/cmd_daemon.py", "glassbox.daemon"):
        "`glassbox daemon` is the CLI verb that runs the daemon front end",
    ("cli/cmd_cp.py", "glassbox.images.layers"):
        "cp unpacks the container's tar on the client's side with the one safe "
        "extractor (safe_extract: no path escapes), over -H too",
    ("cli/cmd_cp.py", "glassbox.containers.archive"):
        "rebase_name: the pure rule naming a cp archive's top entry, both ends share it",
    ("cli/cmd_system.py", "glassbox.rootless.setup"):
        "`system setup-user`: root's host administration (subordinate ids, cgroup "
        "delegation) for a user; no state root, no Engine",
    ("cli/front", "glassbox._native"):
        "the C front door is compiled by the one C builder",
    ("daemon/execs.py", "glassbox"):
        "only the package's directory (the exec helper's PYTHONPATH)",
}

KNOWN: set[tuple[str, str]] = set()   # empty: every reach is fixed or has its reason above


def imported_names(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every ``glassbox...`` name ``source`` (the module ``module``) imports, made
    absolute: ``from ..network import attach`` in ``glassbox.daemon.x`` is
    ``glassbox.network.attach``."""
    pkg = module if is_package else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            out |= {f"{base}.{a.name}" for a in node.names}
    return {n for n in out if n == "glassbox" or n.startswith("glassbox.")}


def _covered(name: str, rules) -> str | None:
    """The rule naming ``name`` or a package above it (bare ``glassbox`` only itself)."""
    for r in rules:
        if name == r or ("." in r and name.startswith(r + ".")):
            return r
    return None


def _front_end_files():
    for fe in FRONT_ENDS:
        for base, dirs, files in os.walk(os.path.join(PKG, fe)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for f in sorted(files):
                if f.endswith(".py"):
                    path = os.path.join(base, f)
                    yield os.path.relpath(path, PKG), path


def _module(rel: str) -> tuple[str, bool]:
    mod = "glassbox." + rel[:-3].replace(os.sep, ".")
    if mod.endswith(".__init__"):
        return mod[: -len(".__init__")], True
    return mod, False


def _file_key(rel: str) -> str:
    """``cli/front/x.py`` -> ``cli/front`` (a subpackage is one entry), else the file."""
    parts = rel.split(os.sep)
    return "/".join(parts[:2]) if len(parts) > 2 else "/".join(parts)


def violations() -> tuple[list[str], set[tuple[str, str]]]:
    bad, used = [], set()
    for rel, path in _front_end_files():
        key = _file_key(rel)
        if key in EXEMPT_FILES:
            continue
        mod, is_pkg = _module(rel)
        own = mod.split(".")[1]
        with open(path) as f:
            names = imported_names(f.read(), mod, is_pkg)
        for name in sorted(names):
            if name.split(".")[1:2] == [own] or _covered(name, ALLOWED):
                continue                          # its own package, or a value module
            known = _covered(name, {m for k, m in KNOWN | set(OWN_BUSINESS) if k == key})
            if known:
                used.add((key, known))
                continue
            bad.append(f"{rel}: imports {name}")
    return bad, used


def test_front_ends_reach_the_engine_only_through_the_facade():
    bad, _ = violations()
    assert not bad, ("front ends must go through glassbox.engine (add an Engine method) "
                     "or a value module in ALLOWED:\n" + "\n".join(bad))


def test_the_known_list_only_holds_reaches_that_are_still_there():
    _, used = violations()
    stale = KNOWN - used
    assert not stale, f"fixed: remove from KNOWN: {sorted(stale)}"
    unused = set(OWN_BUSINESS) - used
    assert not unused, f"no longer imported: remove from OWN_BUSINESS: {sorted(unused)}"
    assert not KNOWN & set(OWN_BUSINESS), "a reach is either known or a file's own business"


def test_the_checker_catches_a_runtime_import_absolute_relative_or_lazy():
    src = ("from glassbox.runtime.shim import run\n"
           "def f():\n    from ..runtime import shim\n    import glassbox._sys.real\n")
    names = imported_names(src, "glassbox.lab.views")
    assert names == {"glassbox.runtime.shim.run", "glassbox.runtime.shim",
                     "glassbox._sys.real"}
    assert not any(_covered(n, ALLOWED) for n in names)
    assert imported_names("from . import views\n", "glassbox.lab", is_package=True) == \
        {"glassbox.lab.views"}


def test_a_runtime_import_added_to_a_front_end_fails_the_contract(tmp_path, monkeypatch):
    import shutil
    shutil.copytree(os.path.join(PKG, "lab"), tmp_path / "lab",
                    ignore=shutil.ignore_patterns("__pycache__", "labextension"))
    (tmp_path / "lab" / "sneaky.py").write_text(
        "def f():\n    from glassbox.runtime.shim import refresh_hosts\n")
    monkeypatch.setitem(globals(), "PKG", str(tmp_path))
    monkeypatch.setitem(globals(), "FRONT_ENDS", ("lab",))
    bad, _ = violations()
    assert bad == ["lab/sneaky.py: imports glassbox.runtime.shim.refresh_hosts"]
