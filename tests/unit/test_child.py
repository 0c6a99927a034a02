"""glassbox._child.in_child: one function run in a forked child, its answer here."""

from __future__ import annotations

import os

import pytest

from glassbox._child import in_child
from glassbox.errors import GlassboxError, NotFound


def _pid_and(x):
    return os.getpid(), x


def test_the_value_comes_back_from_another_process():
    pid, big = in_child(_pid_and, b"x" * (1 << 20))     # more than a pipe holds
    assert pid != os.getpid() and big == b"x" * (1 << 20)


def _raise_not_found():
    raise NotFound("no such thing")


def test_the_childs_exception_is_raised_here():
    with pytest.raises(NotFound, match="no such thing"):
        in_child(_raise_not_found)


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not today")


def _raise_unpicklable():
    raise _Unpicklable("odd one")


def test_an_exception_that_does_not_pickle_keeps_its_text():
    with pytest.raises(GlassboxError, match="odd one"):
        in_child(_raise_unpicklable)


def _change_cwd():
    os.chdir("/")
    return os.getcwd()


def test_the_caller_is_not_changed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert in_child(_change_cwd) == "/"
    assert os.getcwd() == str(tmp_path)


def _die():
    os._exit(3)


def test_a_child_that_dies_without_answering_is_an_error():
    with pytest.raises(GlassboxError, match="died before it answered"):
        in_child(_die)
