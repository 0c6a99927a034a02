"""Docker's seccomp profile format: parsing, field-by-field errors, and the
conditional rules (caps, arches, minKernel) resolved for one container."""

from __future__ import annotations

import json

import pytest

from glassbox.errors import InvalidArgument
from glassbox.runtime.spec import DEFAULT_CAPS
from glassbox.seccomp.cache import DEFAULT_PATH
from glassbox.seccomp.profile import parse, resolve


def default():
    with open(DEFAULT_PATH) as f:
        return parse(f.read(), "default.json")


def names(resolved) -> set[str]:
    return {n for r in resolved.rules for n in r.names}


def test_default_profile_is_dockers():
    p = default()
    assert p.default_action == "SCMP_ACT_ERRNO" and p.default_errno == 1
    assert ("SCMP_ARCH_X86_64", ("SCMP_ARCH_X86", "SCMP_ARCH_X32")) in p.arch_map
    allowed = set(p.rules[0].names)
    assert {"read", "write", "execve", "clone3"} - allowed == {"clone3"}
    # what issue 18 found open: none of it in the unconditional allow list
    for n in ("add_key", "keyctl", "io_uring_setup", "unshare", "mount", "bpf", "userfaultfd",
              "kexec_load", "init_module", "personality", "socket", "ptrace"):
        assert n not in allowed, n


def test_caps_decide_the_conditional_rules():
    p = default()
    plain = resolve(p, DEFAULT_CAPS, "amd64", (6, 1))
    admin = resolve(p, [*DEFAULT_CAPS, "CAP_SYS_ADMIN"], "amd64", (6, 1))
    assert "mount" not in names(plain) and "mount" in names(admin)
    assert "unshare" in names(admin) and "unshare" not in names(plain)
    # clone: masked-flags rule without CAP_SYS_ADMIN, unconditional with it
    clone_plain = [r for r in plain.rules if "clone" in r.names]
    assert len(clone_plain) == 1 and clone_plain[0].args[0].op == "SCMP_CMP_MASKED_EQ"
    assert clone_plain[0].args[0].value == 0x7E020000
    assert [r.args for r in admin.rules if "clone" in r.names] == [()]
    # clone3: ENOSYS without the cap (libc falls back to clone), allowed with it
    c3 = [r for r in plain.rules if "clone3" in r.names]
    assert [(r.action, r.errno) for r in c3] == [("SCMP_ACT_ERRNO", 38)]
    assert all(r.action == "SCMP_ACT_ALLOW" for r in admin.rules if "clone3" in r.names)
    # includes.caps needs every cap listed; CAP_SYS_PTRACE opens ptrace family
    ptrace = resolve(p, [*DEFAULT_CAPS, "CAP_SYS_PTRACE"], "amd64", (6, 1))
    assert "kcmp" in names(ptrace) and "kcmp" not in names(plain)


def test_arches_and_min_kernel_decide_too():
    p = default()
    amd64 = resolve(p, DEFAULT_CAPS, "amd64", (6, 1))
    arm64 = resolve(p, DEFAULT_CAPS, "arm64", (6, 1))
    s390x = resolve(p, DEFAULT_CAPS, "s390x", (6, 1))
    assert "arch_prctl" in names(amd64) and "arch_prctl" not in names(arm64)
    assert "set_tls" in names(arm64) and "set_tls" not in names(amd64)
    assert amd64.architectures == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")
    assert arm64.architectures == ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM")
    # s390 takes clone's flags in arg 1
    assert [r.args[0].index for r in s390x.rules if "clone" in r.names] == [1]
    old = resolve(p, DEFAULT_CAPS, "amd64", (4, 4))
    assert "ptrace" in names(amd64) and "ptrace" not in names(old)   # minKernel 4.8


def test_excludes_drop_on_any_cap_includes_need_all():
    doc = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["a"], "action": "SCMP_ACT_ALLOW",
         "includes": {"caps": ["CAP_CHOWN", "CAP_KILL"]}},
        {"names": ["b"], "action": "SCMP_ACT_ALLOW",
         "excludes": {"caps": ["CAP_SYS_ADMIN", "CAP_KILL"]}},
        {"names": ["c"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.0"}},
        {"name": "d", "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}}]}
    p = parse(json.dumps(doc))
    assert names(resolve(p, ["CAP_CHOWN"], "amd64", (4, 19))) == {"b", "c", "d"}
    assert names(resolve(p, ["CAP_CHOWN", "CAP_KILL"], "amd64", (5, 10))) == {"a", "d"}
    assert names(resolve(p, [], "arm64", (5, 0))) == {"b"}


def test_oci_form_is_what_runc_reads():
    oci = resolve(default(), DEFAULT_CAPS, "amd64", (6, 1)).to_oci()
    assert oci["defaultAction"] == "SCMP_ACT_ERRNO" and oci["defaultErrnoRet"] == 1
    assert oci["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert all(set(c) <= {"names", "action", "errnoRet", "args"} for c in oci["syscalls"])
    clone = next(c for c in oci["syscalls"] if c["names"] == ["clone"])
    assert clone["args"] == [{"index": 0, "value": 2114060288, "valueTwo": 0,
                              "op": "SCMP_CMP_MASKED_EQ"}]


BAD = [
    ("[]", "top level"),
    ("{}", "defaultAction"),
    ('{"defaultAction": "SCMP_ACT_NOPE"}', "defaultAction: unknown action"),
    ('{"defaultAction": "SCMP_ACT_NOTIFY"}', "defaultAction: SCMP_ACT_NOTIFY"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1}', "defaultErrnoRet"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": true}', "defaultErrnoRet"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_PDP11"]}',
     'architectures[0]: unknown architecture "SCMP_ARCH_PDP11"'),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "x86_64"}]}',
     "archMap[0].architecture"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64",'
     ' "subArchitectures": ["SCMP_ARCH_Q"]}]}', "archMap[0].subArchitectures[0]"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "archMap": []}',
     None),   # an empty archMap is "not given"
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {}}', "syscalls: expected a list"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}',
     "syscalls[0].names"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "name": "x", '
     '"action": "SCMP_ACT_ALLOW"}]}', "syscalls[0]: both 'name' and 'names'"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", 3], '
     '"action": "SCMP_ACT_ALLOW"}]}', "syscalls[0].names[1]"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], '
     '"action": "SCMP_ACT_ERRNO", "errnoRet": 5000}]}', "syscalls[0].errnoRet"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": '
     '"SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}',
     "syscalls[0].args[0].index"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": '
     '"SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}',
     "syscalls[0].args[0].value"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": '
     '"SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "EQ"}]}]}',
     "syscalls[0].args[0].op"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": '
     '"SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}]}', "syscalls[0].includes.minKernel"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": '
     '"SCMP_ACT_ALLOW", "excludes": {"arches": ["vax"]}}]}', "syscalls[0].excludes.arches[0]"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]}', "flags[0]"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/agent.sock"}', "listenerPath"),
]


@pytest.mark.parametrize("text,field", BAD)
def test_bad_fields_are_named(text, field):
    if field is None:
        parse(text)
        return
    with pytest.raises(InvalidArgument) as e:
        parse(text, "my.json")
    assert "my.json" in e.value.message and field in e.value.message, e.value.message


def test_invalid_json_says_so():
    with pytest.raises(InvalidArgument, match="my.json: invalid JSON"):
        parse("{", "my.json")


def test_unknown_keys_are_ignored_as_go_does():
    p = parse('{"defaultAction": "SCMP_ACT_ALLOW", "whatever": 1, "syscalls": '
              '[{"names": ["read"], "action": "SCMP_ACT_ERRNO", "comment": "x", "extra": 2}]}')
    assert p.rules[0].errno is None


def test_security_opt_reads_checks_and_compacts(tmp_path, capsys):
    from glassbox.containers.options import seccomp_choice, security_options
    path = tmp_path / "p.json"
    path.write_text('{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": [\n'
                    '    {"names": ["getppid", "not_a_syscall"], "action": "SCMP_ACT_ERRNO"}]}')
    out = security_options([f"seccomp={path}"])
    assert out == ['seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":'
                   '["getppid","not_a_syscall"],"action":"SCMP_ACT_ERRNO"}]}']
    assert "not_a_syscall" in capsys.readouterr().err          # ignored, with a warning
    assert seccomp_choice(out, False) == out[0][len("seccomp="):]
    assert seccomp_choice(out, True) == "unconfined"
    assert seccomp_choice([], False) == "default"
    assert security_options(["seccomp=builtin"]) == ["seccomp=builtin"]
    assert seccomp_choice(["seccomp=builtin"], False) == "default"
    assert security_options(["seccomp:unconfined"]) == ["seccomp=unconfined"]
    # the Engine API sends the profile inline; its colons are not the old separator
    assert security_options([out[0]]) == out
    with pytest.raises(InvalidArgument, match="cannot read the profile"):
        security_options([f"seccomp={tmp_path}/nope.json"])
    with pytest.raises(InvalidArgument, match="unknown option 'seccom'"):
        security_options(["seccom=unconfined"])


def test_a_bad_value_is_echoed_short_never_a_whole_file():
    secret = json.dumps(["s3cret-" + "x" * 500])
    with pytest.raises(InvalidArgument) as e:
        parse(secret, "/root/some.json")
    assert "top level" in e.value.message and len(e.value.message) < 160
    assert "x" * 100 not in e.value.message


def test_default_json_is_the_upstream_data_unchanged():
    """A tripwire: default.json holds moby's data as taken (DEFAULT_SOURCE); a change
    to it must be a deliberate update of that line and of this digest."""
    import hashlib

    from glassbox.seccomp import DEFAULT_SOURCE
    with open(DEFAULT_PATH) as f:
        doc = json.load(f)
    canon = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert hashlib.sha256(canon).hexdigest() == \
        "9da637d2ab0a204fcbd91bd88f1be9e004a3acab61c571a9f5b8870e588a17d2"
    assert "cd3bed8" in DEFAULT_SOURCE
