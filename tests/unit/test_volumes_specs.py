"""-v / --mount / --tmpfs parsing: Docker's rules and error texts (pure, no root)."""

from __future__ import annotations

import pytest

from glassbox.errors import InvalidArgument
from glassbox.volumes import (VolumeSpec, parse_mount_spec, parse_tmpfs_spec,
                              parse_volume_spec, parse_volumes_from)
from glassbox.volumes.specs import valid_mode

NAME_ERR = ('create {n}: "{n}" includes invalid characters for a local volume name, only '
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            'directory, use absolute path')


@pytest.mark.parametrize("spec, want", [
    ("data:/data", VolumeSpec("volume", "data", "/data", False)),
    ("data:/data:ro", VolumeSpec("volume", "data", "/data", True)),
    ("data:/data:rw", VolumeSpec("volume", "data", "/data", False)),
    ("data:/data:nocopy", VolumeSpec("volume", "data", "/data", False, nocopy=True)),
    ("/cache", VolumeSpec("volume", "", "/cache", False)),
    ("/cache/", VolumeSpec("volume", "", "/cache", False)),
    ("/srv/site:/www:ro", VolumeSpec("bind", "/srv/site", "/www", True, create_source=True)),
    ("/srv/site/:/www/./x/", VolumeSpec("bind", "/srv/site", "/www/x", False,
                                         create_source=True)),
    ("/srv:/www:ro,z", VolumeSpec("bind", "/srv", "/www", True, create_source=True)),
    ("/srv:/www:rshared", VolumeSpec("bind", "/srv", "/www", False, create_source=True)),
    ("my_vol.1-x:/x", VolumeSpec("volume", "my_vol.1-x", "/x", False)),
])
def test_volume_spec_good(spec, want):
    got = parse_volume_spec(spec)
    assert got == want
    assert got.raw == spec


def test_volume_spec_anonymous_and_mode_recorded():
    vs = parse_volume_spec("/srv:/www:ro,z")
    assert vs.mode == "ro,z" and not vs.anonymous
    assert parse_volume_spec("/cache").anonymous


@pytest.mark.parametrize("spec, message", [
    ("", "invalid volume specification: ''"),
    (":/x", "invalid volume specification: ':/x'"),
    ("/foo:ro", "invalid volume specification: '/foo:ro'"),      # a mode needs a source
    ("a:/b:c:d", "invalid volume specification: 'a:/b:c:d'"),
    ("data:/x:bogus", "invalid mode: bogus"),
    ("data:/x:ro,rw", "invalid mode: ro,rw"),                     # one of each family
    ("data:rel", "invalid volume specification: 'data:rel': invalid mount config for type "
                 "\"volume\": invalid mount path: 'rel' mount path must be absolute"),
    ("/a:/", "invalid volume specification: '/a:/': invalid mount config for type \"bind\": "
             "invalid specification: destination can't be '/'"),
    ("data:", "invalid volume specification: 'data:'"),   # "" parses as a (valid) mode
    ("relative", "invalid volume specification: 'relative': invalid mount config for type "
                 "\"volume\": invalid mount path: 'relative' mount path must be absolute"),
    ("./site:/www", NAME_ERR.format(n="./site")),                 # relative host path
    ("site/sub:/www", NAME_ERR.format(n="site/sub")),
    ("v:/x", NAME_ERR.format(n="v")),                             # names need 2+ chars
    ("-bad:/x", NAME_ERR.format(n="-bad")),
])
def test_volume_spec_bad(spec, message):
    with pytest.raises(InvalidArgument) as e:
        parse_volume_spec(spec)
    assert str(e.value) == message


def test_relative_path_error_says_use_absolute_path():
    with pytest.raises(InvalidArgument, match="use absolute path"):
        parse_volume_spec("site:/www:ro".replace("site", "my/site"))


@pytest.mark.parametrize("mode, ok", [
    ("", True), ("ro", True), ("rw,z", True), ("ro,Z,rprivate,nocopy", True),
    ("ro,ro", False), ("z,Z", False), ("shared,slave", False), ("x", False),
    ("ro,", False),
])
def test_valid_mode(mode, ok):
    assert valid_mode(mode) is ok


# ---- --mount --------------------------------------------------------------------------

def test_mount_bind_readonly(tmp_path):
    vs = parse_mount_spec(f"type=bind,src={tmp_path},dst=/b,readonly")
    assert vs == VolumeSpec("bind", str(tmp_path), "/b", True)
    assert not vs.create_source  # --mount never creates the host path


@pytest.mark.parametrize("spec, want", [
    ("type=volume,source=vol1,target=/x", VolumeSpec("volume", "vol1", "/x")),
    ("source=vol1,target=/x", VolumeSpec("volume", "vol1", "/x")),   # volume is the default
    ("src=vol1,destination=/x,ro=true", VolumeSpec("volume", "vol1", "/x", True)),
    ("src=vol1,dst=/x,ro=0", VolumeSpec("volume", "vol1", "/x", False)),
    ("type=volume,dst=/x", VolumeSpec("volume", "", "/x")),
    ("type=volume,src=vol1,dst=/x,volume-nocopy", VolumeSpec("volume", "vol1", "/x",
                                                             nocopy=True)),
    ("type=volume,src=vol1,dst=/x,volume-label=a=b,volume-label=c",
     VolumeSpec("volume", "vol1", "/x", labels={"a": "b", "c": ""})),
    ("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770",
     VolumeSpec("tmpfs", "", "/t", options="mode=1770,size=64m")),
    ("type=tmpfs,dst=/t,tmpfs-size=1000", VolumeSpec("tmpfs", "", "/t", options="size=1000")),
    ("type=tmpfs,dst=/t,tmpfs-size=2g", VolumeSpec("tmpfs", "", "/t", options="size=2g")),
    ("type=TMPFS,target=/t,readonly", VolumeSpec("tmpfs", "", "/t", True)),
])
def test_mount_spec_good(spec, want):
    assert parse_mount_spec(spec) == want


@pytest.mark.parametrize("spec, message", [
    ("type=bind,src=/definitely/not/here,dst=/x",
     'invalid mount config for type "bind": bind source path does not exist: '
     "/definitely/not/here"),
    ("type=bind,src=rel,dst=/x",
     "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be "
     "absolute"),
    ("type=bind,dst=/x", 'invalid mount config for type "bind": field Source must not be '
                         'empty'),
    ("type=volume,src=vol1", 'invalid argument "type=volume,src=vol1" for "--mount" flag: '
                             'target is required'),
    ("type=volume,src=vol1,dst=rel",
     "invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be "
     "absolute"),
    ("type=volume,src=vol1,dst=/", 'invalid mount config for type "volume": invalid '
                                   "specification: destination can't be '/'"),
    ("type=volume,dst=/x,ro", 'invalid mount config for type "volume": must not set '
                              'ReadOnly mode when using anonymous volumes'),
    ("type=volume,src=vol1,dst=/x,foo=bar",
     'invalid argument "type=volume,src=vol1,dst=/x,foo=bar" for "--mount" flag: '
     "unexpected key 'foo' in 'foo=bar'"),
    ("type=volume,src=vol1,dst=/x,bogus",
     'invalid argument "type=volume,src=vol1,dst=/x,bogus" for "--mount" flag: '
     "invalid field 'bogus' must be a key=value pair"),
    ("type=volume,src=vol1,dst=/x,ro=maybe",
     'invalid argument "type=volume,src=vol1,dst=/x,ro=maybe" for "--mount" flag: '
     "invalid value for ro: maybe"),
    ("type=tmpfs,src=x1,dst=/t", 'invalid mount config for type "tmpfs": field Source must '
                                 'not be specified'),
    ("type=tmpfs,dst=/t,tmpfs-size=lots",
     'invalid argument "type=tmpfs,dst=/t,tmpfs-size=lots" for "--mount" flag: '
     "invalid value for tmpfs-size: lots"),
    ("type=tmpfs,dst=/t,tmpfs-mode=999",
     'invalid argument "type=tmpfs,dst=/t,tmpfs-mode=999" for "--mount" flag: '
     "invalid value for tmpfs-mode: 999"),
    ("type=volume,src=vol1,dst=/x,tmpfs-size=1m",
     'invalid argument "type=volume,src=vol1,dst=/x,tmpfs-size=1m" for "--mount" flag: '
     "cannot mix 'tmpfs-*' options with mount type 'volume'"),
    ("type=tmpfs,dst=/x,volume-nocopy",
     'invalid argument "type=tmpfs,dst=/x,volume-nocopy" for "--mount" flag: '
     "cannot mix 'volume-*' options with mount type 'tmpfs'"),
    ("type=volume,src=vol1,dst=/x,bind-propagation=shared",
     'invalid argument "type=volume,src=vol1,dst=/x,bind-propagation=shared" for "--mount" '
     "flag: cannot mix 'bind-*' options with mount type 'volume'"),
    ("type=nfs,dst=/x", 'invalid mount config for type "nfs": mount type unknown'),
    ("type=volume,src=bad/name,dst=/x", NAME_ERR.format(n="bad/name")),
])
def test_mount_spec_bad(spec, message):
    with pytest.raises(InvalidArgument) as e:
        parse_mount_spec(spec)
    assert str(e.value).startswith(message)


def test_mount_bind_dot_source_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "site").mkdir()
    assert parse_mount_spec("type=bind,src=./site,dst=/www").source == str(tmp_path / "site")


# ---- --tmpfs ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec, want", [
    ("/tmp", VolumeSpec("tmpfs", "", "/tmp")),
    ("/tmp:size=64m,mode=1777", VolumeSpec("tmpfs", "", "/tmp", options="size=64m,mode=1777")),
    ("/run:rw,noexec,nosuid,size=65536k", VolumeSpec("tmpfs", "", "/run", options="size=65536k")),
    ("/ro:ro,uid=1000,gid=1000", VolumeSpec("tmpfs", "", "/ro", True,
                                            options="uid=1000,gid=1000")),
])
def test_tmpfs_spec_good(spec, want):
    assert parse_tmpfs_spec(spec) == want


@pytest.mark.parametrize("spec, fragment", [
    ("tmp", "mount path must be absolute"),
    ("/", "destination can't be '/'"),
    ("/t:bogus", "invalid tmpfs option 'bogus'"),
    ("/t:size=lots", "invalid tmpfs option 'size=lots'"),
    ("/t:mode=99", "invalid tmpfs option 'mode=99'"),
])
def test_tmpfs_spec_bad(spec, fragment):
    with pytest.raises(InvalidArgument) as e:
        parse_tmpfs_spec(spec)
    assert fragment in str(e.value) and spec in str(e.value)


def test_volumes_from():
    assert parse_volumes_from("db") == ("db", "rw")
    assert parse_volumes_from("db:ro") == ("db", "ro")
    for bad, msg in (("", "volumes-from specification cannot be an empty string"),
                     ("db:shared", "invalid mode: shared"), ("db:nocopy", "invalid mode: nocopy"),
                     ("db:xx", "invalid mode: xx")):
        with pytest.raises(InvalidArgument) as e:
            parse_volumes_from(bad)
        assert str(e.value) == msg
