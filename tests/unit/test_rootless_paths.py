"""Where a rootless user's state and sockets go (XDG), and the private /tmp fallback."""

from __future__ import annotations

import os

import pytest

from glassbox.errors import InvalidArgument
from glassbox.rootless import paths


def test_root_keeps_the_system_paths():
    assert paths.state_root({}, 0) == "/var/lib/glassbox"
    assert paths.daemon_socket({}, 0) == "/run/glassbox.sock"


def test_state_root_follows_xdg_data_home(tmp_path):
    assert paths.state_root({"XDG_DATA_HOME": "/data/u"}, 1001) == "/data/u/glassbox"
    assert paths.state_root({"HOME": "/home/u"}, 1001) == "/home/u/.local/share/glassbox"
    # the XDG spec: a relative value is ignored
    assert paths.state_root({"HOME": "/home/u", "XDG_DATA_HOME": "rel"}, 1001) == \
        "/home/u/.local/share/glassbox"


def test_state_root_create_is_private(tmp_path):
    root = paths.state_root({"XDG_DATA_HOME": str(tmp_path / "d")}, 1001, create=True)
    assert os.stat(root).st_mode & 0o777 == 0o700


def test_runtime_dir_under_xdg_runtime_dir(tmp_path):
    d = paths.runtime_dir({"XDG_RUNTIME_DIR": str(tmp_path)}, os.geteuid())
    assert d == str(tmp_path / "glassbox") and os.path.isdir(d)
    assert paths.daemon_socket({"XDG_RUNTIME_DIR": str(tmp_path)}, 1001) == \
        str(tmp_path / "glassbox" / "glassbox.sock")


def test_missing_xdg_runtime_dir_is_an_error_naming_it(tmp_path):
    with pytest.raises(InvalidArgument, match="XDG_RUNTIME_DIR=.*does not exist"):
        paths.runtime_dir({"XDG_RUNTIME_DIR": str(tmp_path / "gone")}, 1001)


def test_tmp_fallback_is_private_and_refuses_a_foreign_dir(tmp_path):
    uid = os.geteuid()
    d = paths.runtime_dir({}, uid, tmp=str(tmp_path))
    assert d == str(tmp_path / f"glassbox-{uid}")
    assert os.stat(d).st_mode & 0o777 == 0o700
    os.chmod(d, 0o755)                       # widened by someone: refused
    with pytest.raises(InvalidArgument, match="not a private directory"):
        paths.runtime_dir({}, uid, tmp=str(tmp_path))
    os.rmdir(d)
    os.symlink(str(tmp_path), d)             # a symlink planted in /tmp: refused
    with pytest.raises(InvalidArgument, match="not a private directory"):
        paths.runtime_dir({}, uid, tmp=str(tmp_path))
    # another uid's name: owned by us, not by them
    with pytest.raises(InvalidArgument, match="not a private directory"):
        os.unlink(d)
        os.mkdir(d, 0o700)
        paths.check_private(d, uid + 1)
