"""The base image, made offline from Debian's ``busybox-static``.

``python -m glassbox.images.busybox > rootfs.tar`` writes a root filesystem
tarball: ``/bin/busybox`` with a hard link per applet (``/bin/sh``,
``/bin/ls``, ``/usr/bin/wget``, ... exactly the paths ``busybox --list-full``
names), the usual top-level directories, and ``/etc/passwd``/``/etc/group``
with the users the Docker Hub busybox image has. ``make lab``/``make test``
pipe it into ``glassbox import -c 'CMD ["sh"]' - busybox:latest``, so every
lesson and test works with no network at all.

The tar is deterministic (sorted, fixed mtime), so every machine gets the
same layer digest for the same busybox binary.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile

BUSYBOX = "/bin/busybox"
MTIME = 0

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
users:x:100:
nogroup:x:65534:
"""
DIRS = {"bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o555,
        "root": 0o700, "sbin": 0o755, "sys": 0o555, "tmp": 0o1777, "usr": 0o755,
        "usr/bin": 0o755, "usr/sbin": 0o755, "var": 0o755, "var/spool": 0o755,
        "var/spool/mail": 0o755, "var/www": 0o755}
FILES = {"etc/passwd": PASSWD, "etc/group": GROUP, "etc/hostname": "", "etc/hosts": "",
         "etc/resolv.conf": "", "etc/shadow": "root:*:19000:0:99999:7:::\n"}


def applets(busybox: str = BUSYBOX) -> list[str]:
    """The applet paths this busybox binary provides, e.g. ``bin/sh``."""
    out = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True)
    return sorted({p.strip("/") for p in out.stdout.split() if p.strip("/") != "bin/busybox"})


def rootfs_tar(out, busybox: str = BUSYBOX) -> None:
    """Write the busybox root filesystem as an uncompressed tar to ``out``."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        def add(info: tarfile.TarInfo, data: bytes | None = None) -> None:
            info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
            tar.addfile(info, io.BytesIO(data) if data is not None else None)

        for name, mode in sorted(DIRS.items()):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            add(info)
        for name, text in sorted(FILES.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o640 if name == "etc/shadow" else 0o644
            add(info, data)
        with open(busybox, "rb") as f:
            data = f.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        add(info, data)
        for path in applets(busybox):
            info = tarfile.TarInfo(path)
            info.type, info.linkname, info.mode = tarfile.LNKTYPE, "bin/busybox", 0o755
            add(info)


def main() -> None:
    rootfs_tar(sys.stdout.buffer)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
