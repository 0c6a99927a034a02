"""What Docker answers to each line of the probe, and which guard gives the answer.

The table is Docker's behaviour (25+, its default profile) for a default
``docker run``: the outcome a glassbox container must match. ``guard`` names
what refuses the attempt, in the order the kernel meets them; ``seccomp`` in it
means *only* the seccomp filter stops it — the kernel lets a root without
CAP_SYS_ADMIN make that call (a user namespace, a key, a bpf() command, a
user-mode userfaultfd, an io_uring, a perf event on itself, ASLR off), which is
exactly why Docker ships a filter at all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Expect:
    """Docker's verdict on one attempt and the guard that gives it."""

    verdict: str        # "blocked" | "allowed"
    guard: str          # what refuses it (or why allowing it is no escape)

    @property
    def seccomp_only(self) -> bool:
        """Blocked by the seccomp filter alone: no capability, cgroup or mount would."""
        return self.guard == "seccomp"


DEVICES = "devices cgroup (mknod allowed, open refused)"
NO_ADMIN = "capability (no CAP_SYS_ADMIN)"

DOCKER_DEFAULT: dict[str, Expect] = {
    "inherited-fds": Expect("blocked", "every fd above 2 closed before execve"),
    "blockdev-host": Expect("blocked", DEVICES),
    "blockdev-loop0": Expect("blocked", DEVICES),
    "loop-control": Expect("blocked", DEVICES),
    "fuse": Expect("blocked", DEVICES),
    "kvm": Expect("blocked", DEVICES),
    "kmsg": Expect("blocked", DEVICES),
    "userns": Expect("blocked", "seccomp"),
    "userns-mount": Expect("blocked", "seccomp"),
    "netns": Expect("blocked", NO_ADMIN),
    "mount": Expect("blocked", NO_ADMIN),
    "add_key": Expect("blocked", "seccomp"),
    "bpf": Expect("blocked", "seccomp"),
    "userfaultfd": Expect("blocked", "seccomp"),
    "io_uring_setup": Expect("blocked", "seccomp"),        # Docker 25+ (20.10 allowed it)
    "clock_settime": Expect("blocked", "seccomp"),         # the kernel's EINVAL comes first
    "clock_adjtime": Expect("blocked", "capability (no CAP_SYS_TIME)"),
    "perf_event_open": Expect("blocked", "seccomp"),
    "kexec_load": Expect("blocked", "capability (no CAP_SYS_BOOT)"),
    "init_module": Expect("blocked", "capability (no CAP_SYS_MODULE)"),
    "personality": Expect("blocked", "seccomp"),
    "sysrq-trigger": Expect("blocked", "read-only bind (/proc/sysrq-trigger)"),
    "core_pattern": Expect("blocked", "read-only bind (/proc/sys)"),
    "sys-write": Expect("blocked", "read-only /sys"),
    "kcore": Expect("blocked", "masked (/dev/null over /proc/kcore)"),
    # the container's own processes: tracing them is no escape (Docker allows it too)
    "ptrace-child": Expect("allowed", "same container, same credentials"),
    "proc-exe": Expect("blocked", "host-side processes non-dumpable until execve"),
}
