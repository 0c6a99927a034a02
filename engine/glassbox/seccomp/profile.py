"""Docker's seccomp profile format: parse it, check it, resolve it for one container.

A profile (``default.json`` here, or the file given to ``--security-opt
seccomp=PROFILE.json``) says what happens to each system call: a
``defaultAction`` (Docker's: fail with ``EPERM``) and a list of ``syscalls``
entries, each naming syscalls, an ``action`` (``SCMP_ACT_ALLOW``, ...), an
optional ``errnoRet`` and optional ``args`` conditions on the call's
arguments. Two things make it more than a list:

* **Conditional entries.** ``includes``/``excludes`` keep or drop an entry
  depending on the container: ``caps`` (its bounding set: ``mount`` is allowed
  only with ``CAP_SYS_ADMIN``), ``arches`` (the host's arch in Go's names:
  ``amd64``, ``arm64``...) and ``minKernel`` (``"4.8"``). An ``includes``
  needs *all* of its caps; an ``excludes`` drops the entry on *any* of them.
* **Architectures.** ``archMap`` maps the host's native arch to the arches the
  filter must cover (x86_64 also runs i386 and x32 programs); the older
  ``architectures`` list names them directly.

:func:`parse` checks a profile field by field and raises
:class:`~glassbox.errors.InvalidArgument` naming the bad field;
:func:`resolve` applies the conditions for one (caps, arch, kernel) and returns
the flat OCI ``linux.seccomp`` form runc takes (:meth:`Resolved.to_oci`), which
:mod:`.compile` turns into a BPF program. The rules follow moby's
``profiles/seccomp/seccomp_linux.go`` (``setupSeccomp``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..errors import InvalidArgument

# libseccomp's action names -> the kernel's SECCOMP_RET_* value (errno added later)
ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000,          # = KILL_THREAD
    "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000,
    "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000,
    "SCMP_ACT_ALLOW": 0x7FFF0000,
}
OPS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
       "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ")
# seccomp arch names -> the kernel's AUDIT_ARCH_* (what seccomp_data.arch holds)
ARCHES = {
    "SCMP_ARCH_X86": 0x40000003, "SCMP_ARCH_X86_64": 0xC000003E,
    "SCMP_ARCH_X32": 0xC000003E,  # x86_64's audit arch, syscalls with bit 30 set
    "SCMP_ARCH_ARM": 0x40000028, "SCMP_ARCH_AARCH64": 0xC00000B7,
    "SCMP_ARCH_MIPS": 0x00000008, "SCMP_ARCH_MIPS64": 0x80000008,
    "SCMP_ARCH_MIPS64N32": 0xA0000008, "SCMP_ARCH_MIPSEL": 0x40000008,
    "SCMP_ARCH_MIPSEL64": 0xC0000008, "SCMP_ARCH_MIPSEL64N32": 0xE0000008,
    "SCMP_ARCH_PPC": 0x00000014, "SCMP_ARCH_PPC64": 0x80000015,
    "SCMP_ARCH_PPC64LE": 0xC0000015, "SCMP_ARCH_S390": 0x00000016,
    "SCMP_ARCH_S390X": 0x80000016, "SCMP_ARCH_PARISC": 0x0000000F,
    "SCMP_ARCH_PARISC64": 0x8000000F, "SCMP_ARCH_RISCV64": 0xC00000F3,
    "SCMP_ARCH_LOONGARCH64": 0xC0000102, "SCMP_ARCH_M68K": 0x00000004,
    "SCMP_ARCH_SH": 0x4000002A, "SCMP_ARCH_SHEB": 0x0000002A,
}
# Go's GOARCH-style names used in includes/excludes "arches" -> the seccomp arch
NATIVE = {
    "x86": "SCMP_ARCH_X86", "amd64": "SCMP_ARCH_X86_64", "x32": "SCMP_ARCH_X32",
    "arm": "SCMP_ARCH_ARM", "arm64": "SCMP_ARCH_AARCH64", "loong64": "SCMP_ARCH_LOONGARCH64",
    "loongarch64": "SCMP_ARCH_LOONGARCH64", "mips": "SCMP_ARCH_MIPS",
    "mips64": "SCMP_ARCH_MIPS64", "mips64n32": "SCMP_ARCH_MIPS64N32",
    "mipsel": "SCMP_ARCH_MIPSEL", "mipsle": "SCMP_ARCH_MIPSEL",
    "mipsel64": "SCMP_ARCH_MIPSEL64", "mips3l64n32": "SCMP_ARCH_MIPSEL64N32",
    "mipsel64n32": "SCMP_ARCH_MIPSEL64N32", "ppc": "SCMP_ARCH_PPC", "ppc64": "SCMP_ARCH_PPC64",
    "ppc64le": "SCMP_ARCH_PPC64LE", "riscv64": "SCMP_ARCH_RISCV64", "s390": "SCMP_ARCH_S390",
    "s390x": "SCMP_ARCH_S390X",
}
# uname -m -> Go's name for the host
MACHINE = {"x86_64": "amd64", "i686": "x86", "i386": "x86", "aarch64": "arm64",
           "armv7l": "arm", "armv6l": "arm", "ppc64le": "ppc64le", "ppc64": "ppc64",
           "s390x": "s390x", "riscv64": "riscv64", "mips64": "mips64",
           "loongarch64": "loong64"}
FLAGS = {"SECCOMP_FILTER_FLAG_TSYNC": 1, "SECCOMP_FILTER_FLAG_LOG": 2,
         "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4}
MAX_ERRNO = 4095
U64 = (1 << 64) - 1


@dataclass(frozen=True)
class Arg:
    """One condition on argument ``index`` (0-5), as libseccomp's ``scmp_arg_cmp``.
    ``SCMP_CMP_MASKED_EQ`` means ``(arg & value) == value_two``."""

    index: int
    value: int
    op: str
    value_two: int = 0


@dataclass(frozen=True)
class Filter:
    """An ``includes``/``excludes`` block."""

    caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    min_kernel: tuple[int, int] | None = None


@dataclass(frozen=True)
class Rule:
    """One ``syscalls`` entry."""

    names: tuple[str, ...]
    action: str
    errno: int | None = None
    args: tuple[Arg, ...] = ()
    includes: Filter | None = None
    excludes: Filter | None = None


@dataclass(frozen=True)
class Profile:
    """A parsed, checked profile (nothing resolved yet)."""

    default_action: str
    default_errno: int | None = None
    architectures: tuple[str, ...] = ()
    arch_map: tuple[tuple[str, tuple[str, ...]], ...] = ()
    flags: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Resolved:
    """A profile resolved for one container: OCI runtime-spec ``linux.seccomp``."""

    default_action: str
    default_errno: int | None
    architectures: tuple[str, ...]
    flags: tuple[str, ...]
    rules: tuple[Rule, ...] = field(default=())   # includes/excludes already applied

    def to_oci(self) -> dict:
        """The ``linux.seccomp`` object of a runc ``config.json``."""
        out: dict = {"defaultAction": self.default_action}
        if self.default_errno is not None:
            out["defaultErrnoRet"] = self.default_errno
        out["architectures"] = list(self.architectures)
        if self.flags:
            out["flags"] = list(self.flags)
        calls = []
        for r in self.rules:
            call: dict = {"names": list(r.names), "action": r.action}
            if r.errno is not None:
                call["errnoRet"] = r.errno
            if r.args:
                call["args"] = [{"index": a.index, "value": a.value, "valueTwo": a.value_two,
                                 "op": a.op} for a in r.args]
            calls.append(call)
        out["syscalls"] = calls
        return out


# ---- parsing -----------------------------------------------------------------

def _bad(where: str, msg: str) -> InvalidArgument:
    return InvalidArgument(f"seccomp profile: {where}: {msg}")


def _typed(value, kinds, where: str, what: str):
    # bool is an int in Python, never a valid number here
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise _bad(where, f"expected {what}, got {_shown(value)}")
    return value


def _shown(value) -> str:
    """A short echo of a bad value: enough to find it, never a whole file."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _uint(value, where: str, limit: int = U64) -> int:
    _typed(value, int, where, "a non-negative integer")
    if not 0 <= value <= limit:
        raise _bad(where, f"{value} is out of range 0..{limit}")
    return value


def _strings(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    _typed(value, list, where, "a list of strings")
    for i, v in enumerate(value):
        _typed(v, str, f"{where}[{i}]", "a string")
    return tuple(value)


def _arch(name, where: str) -> str:
    _typed(name, str, where, "an architecture name")
    if name not in ARCHES:
        raise _bad(where, f"unknown architecture {_shown(name)} (expected one of "
                   f"{', '.join(sorted(ARCHES))})")
    return name


def _action(value, where: str) -> str:
    _typed(value, str, where, "an action name")
    if value == "SCMP_ACT_NOTIFY":
        raise _bad(where, "SCMP_ACT_NOTIFY needs a seccomp agent (listenerPath), which "
                   "glassbox does not support")
    if value not in ACTIONS:
        raise _bad(where, f"unknown action {_shown(value)} (expected one of "
                   f"{', '.join(sorted(ACTIONS))})")
    return value


def _kernel(value, where: str) -> tuple[int, int] | None:
    if value is None or value == "":
        return None
    _typed(value, str, where, 'a kernel version "<kernel>.<major>"')
    parts = value.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise _bad(where, f'invalid kernel version {_shown(value)}, expected "<kernel>.<major>"')
    ver = (int(parts[0]), int(parts[1]))
    if ver == (0, 0) or max(ver) > 255:
        raise _bad(where, f"invalid kernel version {_shown(value)}")
    return ver


def _filter(value, where: str) -> Filter | None:
    if value is None:
        return None
    _typed(value, dict, where, "an object")
    arches = _strings(value.get("arches"), f"{where}.arches")
    for i, a in enumerate(arches):
        if a not in NATIVE:
            raise _bad(f"{where}.arches[{i}]", f"unknown architecture {_shown(a)} (expected Go's "
                       f"names: {', '.join(sorted(NATIVE))})")
    return Filter(caps=_strings(value.get("caps"), f"{where}.caps"), arches=arches,
                  min_kernel=_kernel(value.get("minKernel"), f"{where}.minKernel"))


def _args(value, where: str) -> tuple[Arg, ...]:
    if value is None:
        return ()
    _typed(value, list, where, "a list of argument conditions")
    out = []
    for i, a in enumerate(value):
        w = f"{where}[{i}]"
        _typed(a, dict, w, "an object")
        op = _typed(a.get("op"), str, f"{w}.op", "a comparison name")
        if op not in OPS:
            raise _bad(f"{w}.op", f"unknown comparison {_shown(op)} (expected one of {', '.join(OPS)})")
        out.append(Arg(index=_uint(a.get("index"), f"{w}.index", 5),
                       value=_uint(a.get("value", 0), f"{w}.value"),
                       value_two=_uint(a.get("valueTwo", 0), f"{w}.valueTwo"), op=op))
    return tuple(out)


def _rule(value, where: str) -> Rule:
    _typed(value, dict, where, "an object")
    name, names = value.get("name"), value.get("names")
    if name and names:
        raise _bad(where, "both 'name' and 'names' are given, use one")
    names_t: tuple[str, ...]
    if name is not None:
        names_t = (_typed(name, str, f"{where}.name", "a syscall name"),)
    else:
        names_t = _strings(names, f"{where}.names")
    if not names_t:
        raise _bad(f"{where}.names", "no syscall named")
    errno = value.get("errnoRet")
    return Rule(names=names_t, action=_action(value.get("action"), f"{where}.action"),
                errno=None if errno is None else _uint(errno, f"{where}.errnoRet", MAX_ERRNO),
                args=_args(value.get("args"), f"{where}.args"),
                includes=_filter(value.get("includes"), f"{where}.includes"),
                excludes=_filter(value.get("excludes"), f"{where}.excludes"))


def parse(text: str | bytes, source: str = "profile") -> Profile:
    """Check a profile in Docker's JSON format; :class:`InvalidArgument` names the
    first bad field (``syscalls[3].args[0].op: unknown comparison ...``).

    Unknown keys are ignored, as Go's JSON decoder does. Syscall *names* are not
    checked here: one unknown to this host is skipped when compiling, as runc does."""
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"seccomp profile {source}: invalid JSON: {e}") from None
    try:
        return _profile(doc)
    except InvalidArgument as e:
        raise InvalidArgument(e.message.replace("seccomp profile:", f"seccomp profile {source}:",
                                                1)) from None


def _profile(doc) -> Profile:
    _typed(doc, dict, "top level", "a JSON object")
    if doc.get("listenerPath"):
        raise _bad("listenerPath", "seccomp agents (SCMP_ACT_NOTIFY) are not supported")
    archs = tuple(_arch(a, f"architectures[{i}]")
                  for i, a in enumerate(_strings(doc.get("architectures"), "architectures")))
    amap = []
    raw_map = doc.get("archMap")
    if raw_map is not None:
        _typed(raw_map, list, "archMap", "a list")
        for i, m in enumerate(raw_map):
            w = f"archMap[{i}]"
            _typed(m, dict, w, "an object")
            main = _arch(m.get("architecture"), f"{w}.architecture")
            subs = tuple(_arch(s, f"{w}.subArchitectures[{j}]") for j, s in
                         enumerate(_strings(m.get("subArchitectures"), f"{w}.subArchitectures")))
            amap.append((main, subs))
    if archs and amap:
        raise _bad("archMap", "both 'architectures' and 'archMap' are given, use one")
    flags = _strings(doc.get("flags"), "flags")
    for i, f in enumerate(flags):
        if f not in FLAGS:
            raise _bad(f"flags[{i}]", f"unknown flag {_shown(f)} (expected one of "
                       f"{', '.join(FLAGS)})")
    rules = doc.get("syscalls")
    if rules is not None:
        _typed(rules, list, "syscalls", "a list")
    errno = doc.get("defaultErrnoRet")
    return Profile(default_action=_action(doc.get("defaultAction"), "defaultAction"),
                   default_errno=None if errno is None else _uint(errno, "defaultErrnoRet",
                                                                  MAX_ERRNO),
                   architectures=archs, arch_map=tuple(amap), flags=flags,
                   rules=tuple(_rule(r, f"syscalls[{i}]") for i, r in enumerate(rules or ())))


# ---- resolving ---------------------------------------------------------------

def host_arch() -> str:
    """The host's arch in Go's names (``amd64``), as moby's ``runtime.GOARCH``."""
    import platform
    machine = platform.machine()
    return MACHINE.get(machine, machine)


def host_kernel() -> tuple[int, int]:
    import platform
    parts = platform.release().split(".")
    try:
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)
    except (IndexError, ValueError):
        return (0, 0)


def _keeps(rule: Rule, caps: frozenset[str], arch: str, kernel: tuple[int, int]) -> bool:
    ex, inc = rule.excludes, rule.includes
    if ex is not None:
        if arch in ex.arches or any(c in caps for c in ex.caps):
            return False
        if ex.min_kernel is not None and kernel >= ex.min_kernel:
            return False
    if inc is not None:
        if inc.arches and arch not in inc.arches:
            return False
        if not all(c in caps for c in inc.caps):
            return False
        if inc.min_kernel is not None and kernel < inc.min_kernel:
            return False
    return True


def resolve(profile: Profile, caps, arch: str | None = None,
            kernel: tuple[int, int] | None = None) -> Resolved:
    """Apply ``includes``/``excludes`` for a container with bounding set ``caps``
    on a host of ``arch`` (Go's name) running ``kernel`` (major, minor).

    The filter's arches: the ``archMap`` entry for the host (itself plus its
    sub-arches), or the profile's ``architectures``; neither means the native
    arch only."""
    arch = arch or host_arch()
    kernel = kernel or host_kernel()
    capset = frozenset(caps)
    archs = profile.architectures
    if profile.arch_map:
        native = NATIVE.get(arch)
        for main, subs in profile.arch_map:
            if main == native:
                archs = (main, *subs)
                break
    return Resolved(default_action=profile.default_action, default_errno=profile.default_errno,
                    architectures=archs, flags=profile.flags,
                    rules=tuple(r for r in profile.rules if _keeps(r, capset, arch, kernel)))
