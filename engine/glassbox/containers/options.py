"""``CreateOptions``: everything ``run``/``create`` can be asked, as one pure value.

The CLI parses flags into it, the Jupyter magics use the same parser, the
daemon maps the Docker API's JSON onto it. Nothing here touches the system.
"""

from __future__ import annotations


# Plain class rather than a dataclass: this value is built on every ``run``, and
# importing ``dataclasses`` (which pulls in ``inspect``) would cost more than the
# container start itself. Same constructor, attributes, repr and equality.
_FIELDS: dict[str, object] = {
    "command": None,
    "name": None,
    "entrypoint": None,
    "env": list,
    "env_files": list,
    "workdir": None,
    "user": None,
    "hostname": None,
    "tty": False,
    "interactive": False,
    "auto_remove": False,
    "memory": None,
    "memory_swap": None,
    "cpus": None,
    "cpu_shares": None,
    "cpuset_cpus": None,           # --cpuset-cpus 0-1,3: the CPUs it may run on
    "cpuset_mems": None,           # --cpuset-mems 0: the memory (NUMA) nodes
    "pids_limit": None,
    "cap_add": list,
    "cap_drop": list,
    "init": False,
    "read_only": False,
    "privileged": False,
    "userns": None,                # --userns private|host (glassbox.rootless.private)
    "devices": list,               # --device HOST[:CONTAINER][:PERMS]
    "device_cgroup_rules": list,   # --device-cgroup-rule 'c 1:3 rwm'
    "security_opt": list,
    "labels": dict,
    "volumes": list,
    "mounts": list,
    "tmpfs": list,
    "volumes_from": list,
    "network": None,
    "network_aliases": list,
    "ip": None,                    # --ip: a fixed IPv4 address on a user network
    "mac_address": None,           # --mac-address 02:42:ac:11:00:09: the veth's container end
    "links": list,                 # --link NAME[:ALIAS]: /etc/hosts names for another container
    "publish": list,
    "publish_all": False,
    "expose": list,
    "add_hosts": list,
    "dns": list,
    "stop_signal": None,
    "stop_timeout": None,
    "restart": None,               # --restart no|always|unless-stopped|on-failure[:N]
    "healthcheck": None,           # Config.Healthcheck as Docker's (durations in ns)
    "pull": "missing",
}


class CreateOptions:
    """Everything ``run``/``create`` accepts (Docker's flags), as one value.

    ``image`` is required; every other field has Docker's default (lists and
    dicts are fresh per instance)."""

    __slots__ = ("image", *_FIELDS)

    def __init__(self, image: str, **kw):
        unknown = set(kw) - set(_FIELDS)
        if unknown:
            raise TypeError(f"unknown CreateOptions field(s): {', '.join(sorted(unknown))}")
        self.image = image
        for name, default in _FIELDS.items():
            if name in kw:
                value = kw[name]
            elif default in (list, dict):
                value = default()
            else:
                value = default
            setattr(self, name, value)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other) -> bool:
        return isinstance(other, CreateOptions) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()
                          if k == "image" or v != (_FIELDS[k]() if _FIELDS[k] in (list, dict)
                                                   else _FIELDS[k]))
        return f"CreateOptions({shown})"


def security_options(values: list[str]) -> list[str]:
    """Validate ``--security-opt`` values; return them in Docker's ``key=value`` form.

    What a glassbox container gets, whatever is asked: ``no_new_privs`` set
    (unless ``--privileged``), Docker's capabilities and device rules, Docker's
    seccomp profile (unless ``--privileged``), no AppArmor or SELinux profile.
    ``seccomp=unconfined`` turns the filter off, ``seccomp=PROFILE.json`` replaces
    it: the file is read and checked now and kept inline as compact JSON
    (``seccomp={...}``), as the docker CLI sends it; ``seccomp=builtin`` is the
    default. Anything asking for a protection glassbox does not apply is refused
    rather than silently ignored.
    """
    from ..errors import InvalidArgument
    out = []
    for raw in values:
        eq, colon = raw.find("="), raw.find(":")   # "seccomp:x" is the old spelling,
        if colon >= 0 and (eq < 0 or colon < eq):  # but JSON after "=" has colons too
            raw = raw.replace(":", "=", 1)
        key, sep, value = raw.partition("=")
        key, value = key.strip(), value.strip()
        if key == "no-new-privileges" and value in ("", "true"):
            out.append("no-new-privileges=true" if sep else "no-new-privileges")
        elif key == "no-new-privileges" and value == "false":
            raise InvalidArgument("--security-opt no-new-privileges=false: glassbox always sets "
                                  "no_new_privs (use --privileged to run without it)")
        elif key == "seccomp":
            from ..seccomp import choice_from_option
            choice = choice_from_option(value)
            out.append("seccomp=" + ("builtin" if choice == "default" else choice))
        elif key == "apparmor" and value == "unconfined":
            out.append("apparmor=unconfined")
        elif key == "label" and value == "disable":
            out.append("label=disable")
        elif key in ("apparmor", "label"):
            raise InvalidArgument(f"--security-opt {raw}: glassbox applies no {key} profile "
                                  f"(only {key}={'unconfined' if key == 'apparmor' else 'disable'})")
        else:
            raise InvalidArgument(f"--security-opt {raw!r}: unknown option {key!r} (expected "
                                  "no-new-privileges, seccomp=unconfined|builtin|PROFILE.json, "
                                  "apparmor=unconfined or label=disable)")
    return out


def seccomp_choice(security_opt: list[str], privileged: bool) -> str:
    """What the container's spec records (:mod:`glassbox.seccomp`): from the
    checked ``security_options`` list, the last ``seccomp=`` wins; none means
    Docker's default profile; ``--privileged`` means no filter at all."""
    if privileged:
        return "unconfined"
    choice = "default"
    for opt in security_opt:
        if opt.startswith("seccomp="):
            value = opt[len("seccomp="):]
            choice = "default" if value == "builtin" else value
    return choice
