"""The escape probe's contract, without root: its output format, and that every
attempt the C source makes has Docker's answer in the expectation table."""

from __future__ import annotations

import re

import pytest

from glassbox import probe
from glassbox.errors import InvalidArgument
from glassbox.probe.expected import DOCKER_DEFAULT

# the lines the tests read beside the table: context, and attempts on the
# container's own pid 1 (whose answer depends on the scenario, not on Docker)
NOT_IN_TABLE = {"seccomp", "ptrace-pid1"}


def source_names() -> set[str]:
    with open(probe.SOURCE) as f:
        src = f.read()
    calls = r'(?:report|device|syscall_verdict|open_for_write)\(\s*"([a-z0-9_\-]+)"'
    return set(re.findall(calls, src))


def test_every_attempt_of_the_probe_has_dockers_answer():
    names = source_names()
    assert "loop-control" in names and "proc-exe" in names        # the regex sees the calls
    assert names - NOT_IN_TABLE == set(DOCKER_DEFAULT), (names - NOT_IN_TABLE) ^ set(DOCKER_DEFAULT)


def test_seccomp_only_lines_are_the_calls_a_capless_root_may_make():
    assert {n for n, e in DOCKER_DEFAULT.items() if e.seccomp_only} == {
        "userns", "userns-mount", "add_key", "bpf", "userfaultfd", "io_uring_setup",
        "clock_settime", "perf_event_open", "personality"}


def test_parse_and_render():
    out = "kvm\tblocked\topen c 10:232: EPERM\nadd_key\tallowed\tEFAULT\n\nseccomp\tinfo\toff\n"
    t = probe.parse(out)
    assert list(t) == ["kvm", "add_key", "seccomp"]
    assert t["kvm"].blocked and not t["add_key"].blocked
    assert t["add_key"] == probe.Attempt("add_key", "allowed", "EFAULT")
    assert probe.render(t).splitlines()[0] == "kvm      blocked  open c 10:232: EPERM"


@pytest.mark.parametrize("line", ["kvm blocked EPERM", "kvm\tmaybe\tEPERM", "kvm\tblocked"])
def test_a_malformed_line_is_refused_with_the_line_named(line):
    with pytest.raises(InvalidArgument, match="malformed line"):
        probe.parse(line + "\n")
