"""What a rootless glassbox can and cannot do on this host, for ``glassbox info``.

Each line is a fact read from the host and what it means for containers:
the id map (subordinate ids or the single-id map, and why), whether user
namespaces can be made at all, overlay in a user namespace (kernel ≥ 5.11,
``userxattr``), cgroup delegation (limits and stats), networking and the
ownership of unpacked layers.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

OVERLAY_USERNS_KERNEL = (5, 11)


def kernel_version(release: str | None = None) -> tuple[int, int]:
    """``"6.18.44-fc-v1147"`` -> ``(6, 18)``."""
    release = release or platform.release()
    nums = []
    for part in release.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit()) or "0"
        nums.append(int(digits))
    return (nums + [0, 0])[0], (nums + [0, 0])[1]


def userns_available() -> tuple[bool, str]:
    """Try it: fork a child that unshares a user namespace (~1 ms: everything it
    needs is imported before the fork)."""
    from .._child import in_child
    problem = in_child(_try_unshare)
    return not problem, problem


def _try_unshare() -> str:
    """(In the child) unshare a user namespace; "" or why it was refused."""
    from .._sys import real
    from .._sys.constants import CLONE_NEWUSER
    from .userns import unshare_hint
    try:
        real.unshare(CLONE_NEWUSER)
    except Exception as e:  # noqa: BLE001
        return unshare_hint(getattr(e, "errno", 0) or 0)
    return ""


@dataclass(frozen=True)
class Features:
    """The rootless facts of this host for this user (pure value)."""

    rootless: bool
    userns: bool
    userns_problem: str
    idmap: str                  # "subids" | "single"
    idmap_size: int
    idmap_reason: str
    overlay_userns: bool
    cgroup_parent: str | None   # the delegated parent, or None
    cgroup_version: int

    def rows(self) -> list[tuple[str, str]]:
        """``(key, value)`` lines as ``glassbox info`` prints them."""
        rows = [("Rootless", "true" if self.rootless else "false")]
        if not self.rootless:
            return rows
        rows.append(("User Namespaces", "yes" if self.userns else
                     f"no — {self.userns_problem}"))
        if self.idmap == "subids":
            rows.append(("ID Map", f"subordinate ids via newuidmap/newgidmap "
                                   f"({self.idmap_size} ids)"))
        else:
            rows.append(("ID Map", f"single id (only root exists in containers: chown to "
                                   f"other ids and -u <uid> fail, supplementary groups are "
                                   f"not set) — {self.idmap_reason}"))
        if self.idmap == "subids":
            rows.append(("Layer Ownership", "kept through the id map (container uid N is a "
                                            "subordinate id on the host)"))
        else:
            rows.append(("Layer Ownership", "ignore-chown: unpacked files belong to the user "
                                            "(container root); image owners are not kept"))
        rows.append(("Overlay In Userns", "yes (userxattr)" if self.overlay_userns else
                     f"no — kernel {platform.release()} < "
                     f"{'.'.join(map(str, OVERLAY_USERNS_KERNEL))}"))
        if self.cgroup_parent:
            rows.append(("Cgroups", f"delegated (v{self.cgroup_version}): limits and stats in "
                                    f"{self.cgroup_parent}"))
        else:
            from .cgroups import missing_delegation_message
            rows.append(("Cgroups", "none: containers run without limits or stats; "
                                    + missing_delegation_message("a limit")))
        rows.append(("Networks", "none, bridge and user networks, in a network namespace of "
                                 "the user's own (no --network host); -p on host ports >= "
                                 "net.ipv4.ip_unprivileged_port_start"))
        return rows


def detect(cgroup_parent: str | None = None, *, probe: bool = True) -> Features:
    """Read this host's facts for the calling user."""
    from .idmap import host_plan
    rootless = os.geteuid() != 0
    ok, problem = userns_available() if probe and rootless else (True, "")
    plan = host_plan()
    try:
        from ..cgroups import detect_version
        version = detect_version()
    except Exception:  # noqa: BLE001
        version = 0
    return Features(rootless=rootless, userns=ok, userns_problem=problem, idmap=plan.mode,
                    idmap_size=plan.size, idmap_reason=plan.reason,
                    overlay_userns=kernel_version() >= OVERLAY_USERNS_KERNEL,
                    cgroup_parent=cgroup_parent, cgroup_version=version)
