"""The Docker Host: a daemon serving the Docker Engine API over a unix socket.

Seed: the Docker *client* (``docker <command>``) talks to the Docker *host*, a
daemon with an HTTP API. ``glassbox daemon`` is that host for glassbox: it
serves the same API (moby's ``api/swagger.yaml``, versions 1.24–1.45) on
``/run/glassbox.sock`` and calls the same :class:`~glassbox.engine.Engine` as the
``glassbox`` CLI — so the real ``docker`` CLI, docker-py, and ``glassbox -H``
all see and make the same containers::

    glassbox daemon --socket /tmp/gbx.sock &
    DOCKER_HOST=unix:///tmp/gbx.sock docker run --rm busybox echo hi
    curl --unix-socket /tmp/gbx.sock http://localhost/v1.43/containers/json

No TCP unless asked: ``--tcp HOST:PORT --tlscacert ca.pem --tlscert cert.pem
--tlskey key.pem`` serves TLS and requires client certificates signed by the
CA (``DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=dir``); ``--tcp 127.0.0.1:PORT``
alone serves plain HTTP on loopback with a loud warning; any other host
without TLS is refused.

Modules
    :mod:`.server`      aiohttp app, version negotiation, errors, the socket
    :mod:`.translate`   API JSON <-> CreateOptions / summaries / stats (pure)
    :mod:`.hijack`      attach and exec: the connection becomes a raw stream
    :mod:`.containers`  container endpoints (attach-before-start, wait, logs, stats)
    :mod:`.archive`     ``cp`` and ``export``: tars streamed through a pipe
    :mod:`.execs`       exec endpoints (each exec in a fresh single-threaded process)
    :mod:`.images`      images: pull/push/build/save/load as JSON progress streams
    :mod:`.system`      _ping, version, info, df, events, volumes, networks
    :mod:`.client`      ``RemoteEngine``: the glassbox CLI as a client (``-H``)

Shown in the course notebook on the Docker architecture (client, host, registry).

Notebook: ``notebooks/en/08-docker-host-and-client.ipynb``
"""

from .server import (API_VERSION, DEFAULT_SOCKET, MIN_API_VERSION, serve,  # noqa: F401
                     tcp_listener)
