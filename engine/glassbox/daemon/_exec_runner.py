"""``python -m glassbox.daemon._exec_runner JSON``: one ``exec`` for the daemon.

The daemon is multithreaded, and joining a container's namespaces needs
``setns`` + ``fork`` from a single-threaded process — so each exec runs here,
in a fresh interpreter whose stdin/stdout/stderr are the daemon's pipes. A
command that cannot start is reported on stderr with Docker's 126/127 code.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    data = json.loads(sys.argv[1])
    from ..containers.manager import ContainerManager
    from ..errors import ContainerExit, GlassboxError
    from ..runtime.exec import exec_in
    try:
        c = ContainerManager(data["root"], None).get(data["id"])
        code = exec_in(c, data["argv"], env=data.get("env") or [], workdir=data.get("workdir"),
                       user=data.get("user"), tty=bool(data.get("tty")),
                       interactive=bool(data.get("interactive")),
                       privileged=bool(data.get("privileged")), stdio=(0, 1, 2))
    except ContainerExit as e:
        os.write(2, f"OCI runtime exec failed: {e}\n".encode())
        code = e.exit_code
    except GlassboxError as e:
        os.write(2, f"Error: {e}\n".encode())
        code = 126
    sys.exit(code)


if __name__ == "__main__":
    main()
