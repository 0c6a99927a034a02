"""The CLI grammar (shared with the %container magic) and its output helpers."""

from __future__ import annotations

import pytest

from glassbox import present as fmt
from glassbox.cli.commands import _template, create_options
from glassbox.cli.parser import build_parser
from glassbox.errors import InvalidArgument


def parse(*argv):
    return build_parser().parse_args(list(argv))


def test_run_flags_map_to_create_options():
    a = parse("run", "-d", "--name", "web", "-m", "64m", "--cpus", "0.5", "--pids-limit", "50",
              "-e", "A=1", "-h", "box", "-u", "nobody", "-w", "/tmp", "--rm", "-it",
              "busybox", "sh", "-c", "echo hi")
    o = create_options(a)
    assert a.detach and o.name == "web" and o.memory == 64 * 1024 * 1024 and o.cpus == 0.5
    assert o.pids_limit == 50 and o.env == ["A=1"] and o.hostname == "box"
    assert o.user == "nobody" and o.workdir == "/tmp" and o.auto_remove
    assert o.tty and o.interactive and o.image == "busybox"
    assert o.command == ["sh", "-c", "echo hi"]


def test_flags_after_the_image_belong_to_the_command():
    o = create_options(parse("run", "busybox", "ls", "-l", "--name", "x"))
    assert o.command == ["ls", "-l", "--name", "x"] and o.name is None


def test_bad_values_are_invalid_argument():
    with pytest.raises(InvalidArgument, match="--memory"):
        create_options(parse("run", "-m", "lots", "busybox"))
    with pytest.raises(InvalidArgument, match="--cpus"):
        create_options(parse("run", "--cpus", "half", "busybox"))
    with pytest.raises(InvalidArgument):
        parse("frobnicate")


def test_table_alignment_and_sizes():
    out = fmt.table(["A", "LONGER"], [["xxxx", "1"], ["y", "22"]])
    assert out.splitlines() == ["A      LONGER", "xxxx   1", "y      22"]
    assert fmt.human_size(4_260_000) == "4.26MB"
    assert fmt.human_size(999) == "999B"
    assert fmt.bytes_size(64 * 1024 * 1024) == "64MiB"
    assert fmt.human_duration(0.5) == "Less than a second"
    assert fmt.human_duration(150) == "2 minutes"
    assert fmt.human_duration(3 * 3600) == "3 hours"


def test_go_like_templates():
    row = {"Names": "web", "State": "running", "Labels": {"a": "b"}}
    assert _template("{{.Names}}\\t{{.State}}", row) == "web\trunning"
    assert _template("{{json .Labels}}", row) == '{"a": "b"}'
    assert _template("{{.Missing}}", row) == "<no value>"
