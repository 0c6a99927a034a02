"""The spawner of a glassbox class on one machine: each student a local account.

JupyterHub's ``LocalProcessSpawner`` already starts each student's server as
that student (setuid in the child, the hub runs as root). A class needs three
things more, which :class:`GlassboxSpawner` adds:

* **A ceiling per student.** ``glassbox system setup-user NAME`` gave the
  student a cgroup subtree (``glassbox-user-<uid>``) they may make their
  containers' cgroups in. The spawner writes the student's memory and pids
  limits *on that subtree's own directory*, whose limit files stay root's: every
  container, the server and its kernels share the ceiling, and the student
  cannot raise it. One student's fork bomb or memory hog hits their own
  ceiling, not the class.
* **The base image.** A new student's store gets ``busybox:latest`` (from the
  machine's busybox-static) at their first start: the course builds FROM it.
* **The server inside it.** The server process joins the subtree (its
  ``session`` leaf) before it becomes the student, so kernels and rootless
  containers are inside too.
* **A disk of their own.** With ``student_disk`` set (e.g. ``"5G"``), the
  student's glassbox state root is a fixed-size ext4 image loop-mounted for them
  (:mod:`student_disk`): a student who fills it gets a clear "quota full" error
  from glassbox, and the class's disk is untouched.
* **A clean stop.** When the hub stops a server, the student's containers are
  removed with it (as the student, through their own glassbox); a server
  killed with -9 leaves them listed, and removable at the next login.

A student who was not set up still gets a server: ``glassbox doctor`` in it
explains what is missing, and the others are unaffected.
"""

from __future__ import annotations

import os
import pwd
import subprocess

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Integer, Unicode

CGROUP_ROOT = "/sys/fs/cgroup"


def parse_bytes(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().rstrip("b")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def subtree_dirs(uid: int, root: str = CGROUP_ROOT) -> dict[str, str]:
    """controller -> the student's subtree directory, for the controllers that exist
    (cgroup v2: one directory for all)."""
    rel = f"glassbox-user-{uid}"
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        d = os.path.join(root, rel)
        return {"v2": d} if os.path.isdir(d) else {}
    out = {}
    for ctl in ("memory", "pids", "cpu", "cpuacct", "blkio", "devices", "freezer", "cpuset"):
        d = os.path.join(root, ctl, rel)
        if os.path.isdir(d):
            out[ctl] = d
    return out


def write_ceiling(uid: int, memory: int, pids: int, root: str = CGROUP_ROOT) -> list[str]:
    """The student's memory and pids ceiling, on the subtree root (root-owned files)."""
    dirs = subtree_dirs(uid, root)
    done = []
    if "v2" in dirs:
        for name, value in (("memory.max", memory), ("pids.max", pids)):
            with open(os.path.join(dirs["v2"], name), "w") as f:
                f.write(str(value))
            done.append(name)
        return done
    if "memory" in dirs:
        with open(os.path.join(dirs["memory"], "memory.limit_in_bytes"), "w") as f:
            f.write(str(memory))
        done.append("memory.limit_in_bytes")
    if "pids" in dirs:
        with open(os.path.join(dirs["pids"], "pids.max"), "w") as f:
            f.write(str(pids))
        done.append("pids.max")
    return done


def join_session(uid: int, root: str = CGROUP_ROOT) -> None:
    """Move this (pre-exec, still root) process into the student's subtree: its
    ``session`` leaf, made and handed to the student like the rest."""
    for ctl, d in subtree_dirs(uid, root).items():
        leaf = os.path.join(d, "session")
        os.makedirs(leaf, exist_ok=True)
        for name in ("", "cgroup.procs", "tasks"):
            path = os.path.join(leaf, name) if name else leaf
            if os.path.exists(path):
                os.chown(path, uid, -1)
        with open(os.path.join(leaf, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))


class GlassboxSpawner(LocalProcessSpawner):
    """LocalProcessSpawner + a per-student cgroup ceiling + container clean-up."""

    student_memory = Unicode("1G", help="memory for all of one student's processes and "
                             "containers together (their cgroup subtree's limit)").tag(config=True)
    student_pids = Integer(1024, help="processes for one student, containers included"
                           ).tag(config=True)
    glassbox = Unicode("glassbox", help="the glassbox command in the students' PATH"
                       ).tag(config=True)
    student_disk = Unicode("", help="storage for one student's glassbox state (images, "
                           "containers, volumes), e.g. 5G: a disk image of that size "
                           "mounted at their state root. Empty: no ceiling").tag(config=True)
    student_disk_dir = Unicode("/var/lib/glassbox-hub/disks", help="where the students' "
                               "disk images are kept (root's, 0700)").tag(config=True)

    def _uid(self) -> int:
        return pwd.getpwnam(self.user.name).pw_uid

    def get_env(self):
        env = super().get_env()
        env.setdefault("GLASSBOX_AGENT", "0")
        return env

    async def start(self):
        self._mount_disk()
        self._ensure_base_image()
        uid = self._uid()
        if subtree_dirs(uid):
            done = write_ceiling(uid, parse_bytes(self.student_memory), self.student_pids)
            self.log.info("glassbox: %s's ceiling %s, %d pids (%s)", self.user.name,
                          self.student_memory, self.student_pids, ", ".join(done))
        else:
            self.log.warning("glassbox: %s has no delegated cgroup subtree (run glassbox "
                             "system setup-user %s): no ceiling, limits refused",
                             self.user.name, self.user.name)
        return await super().start()

    def make_preexec_fn(self, name):
        become = super().make_preexec_fn(name)
        uid = pwd.getpwnam(name).pw_uid

        def preexec():
            try:
                join_session(uid)
            except OSError:
                pass       # not set up: the server runs, doctor explains
            become()
        return preexec

    async def stop(self, now=False):
        await super().stop(now=now)
        self._remove_containers()
        self._unmount_disk()

    def _as_student(self) -> tuple[list[str], dict]:
        pw = pwd.getpwnam(self.user.name)
        env = {"HOME": pw.pw_dir, "USER": pw.pw_name, "PATH": os.environ.get("PATH", ""),
               "GLASSBOX_AGENT": "0"}
        return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups"], env

    def _state_root(self) -> str:
        from glassbox.rootless.paths import state_root
        pw = pwd.getpwnam(self.user.name)
        return state_root({"HOME": pw.pw_dir}, pw.pw_uid)

    def _mount_disk(self) -> None:
        """The student's state root on a disk of ``student_disk`` (made at the first
        start, kept across servers; re-used as it is after a server killed with -9)."""
        if not self.student_disk:
            return
        import student_disk as sd
        pw = pwd.getpwnam(self.user.name)
        image = sd.image_path(self.student_disk_dir, self.user.name)
        size = parse_bytes(self.student_disk)
        if not os.path.exists(image):
            sd.make_image(image, size, pw.pw_uid, pw.pw_gid)
        else:
            sd.grow_image(image, size)
        root = self._state_root()
        if sd.mount_disk(image, root, pw.pw_uid, pw.pw_gid, pw.pw_dir):
            self.log.info("glassbox: %s's storage: %s on %s", self.user.name,
                          self.student_disk, root)
        else:
            self.log.warning("glassbox: %s already has glassbox state in %s: no storage "
                             "ceiling until it is moved into %s", self.user.name, root, image)

    def _unmount_disk(self) -> None:
        if not self.student_disk:
            return
        import student_disk as sd
        if not sd.unmount_disk(self._state_root()):
            self.log.warning("glassbox: %s's disk was busy: detached lazily", self.user.name)

    def _ensure_base_image(self) -> None:
        """The course starts FROM busybox: put it in a new student's store (made
        from the machine's busybox-static, as ``make setup`` does for root)."""
        as_student, env = self._as_student()
        have = subprocess.run(as_student + [self.glassbox, "image", "inspect", "busybox:latest"],
                              env=env, capture_output=True, timeout=60)
        if have.returncode == 0:
            return
        python = os.path.join(os.path.dirname(self.glassbox), "python")
        p = subprocess.run(as_student + ["bash", "-c", f"{python} -m glassbox.images.busybox | "
                                         f"{self.glassbox} import -c 'CMD [\"sh\"]' - busybox:latest"],
                           env=env, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            self.log.warning("glassbox: no busybox image for %s: %s", self.user.name,
                             p.stderr.strip()[-500:])

    def _remove_containers(self) -> None:
        """As the student: remove every container of theirs."""
        as_student, env = self._as_student()
        ids = subprocess.run(as_student + [self.glassbox, "ps", "-aq"], env=env,
                             capture_output=True, text=True, timeout=60).stdout.split()
        if ids:
            subprocess.run(as_student + [self.glassbox, "rm", "-f", *ids], env=env,
                           capture_output=True, timeout=120)
