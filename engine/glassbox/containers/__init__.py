"""Containers: lifecycle and state (seed "Hello World" commands; notebook 11).

A container is a directory in the state root plus, while it runs, a process
tree watched by its shim::

    containers/<id>/config.json   what was asked (Docker's inspect shape)
    containers/<id>/state.json    what is (Status, Pid, ExitCode, OOMKilled, ...)
    containers/<id>/container.log the output, Docker's json-file format
    containers/<id>/upper, work   the read/write layer and overlay's scratch dir
    containers/<id>/hostname, hosts, resolv.conf

:mod:`.state` reads and writes those files atomically under a lock, so the CLI,
a notebook kernel, the daemon and the shim can all act on one container at
once. :mod:`.manager` implements create/start/stop/kill/rm/wait/logs/...

Notebook: ``notebooks/en/11-hello-world-commands.ipynb``
"""
