"""The ``glassbox`` command line: Docker's commands and flags, on the engine.

``glassbox run --rm busybox echo hi`` is read by :mod:`.parser` (Docker's grammar:
the same flags, defaults and error wording), handed to the ``cmd_*`` function of
:mod:`.commands` (or of a ``cmd_<group>.py`` module for ``network``, ``volume``,
``build``...), which calls one verb of :class:`glassbox.engine.Engine` — or of
:class:`glassbox.daemon.client.RemoteEngine` with ``-H``/``GLASSBOX_HOST``, the
same protocol over a daemon's socket — and prints what it returns with
:mod:`glassbox.present`. :mod:`.main` turns errors into Docker's exit codes
(125: glassbox refused; 126/127: the command could not run; else the
container's own code). A warm agent (:mod:`.agent`) keeps the engine imported
between commands, so a command costs a socket round trip, not an interpreter start.

The CLI is a front end: it reaches the engine only through that protocol
(tests/unit/test_import_contract.py). Notebook:
notebooks/en/11-hello-world-commands.ipynb (the first commands, and what each does
to the machine).
"""
