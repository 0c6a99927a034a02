"""Where the filter goes: last, right before execve, in init and in exec."""

from glassbox._sys.fake import RecordingSys
from glassbox.runtime.init import seal_for_exec


def test_the_filter_is_the_last_thing_installed():
    sys_ = RecordingSys()
    seal_for_exec(sys_, (b"\x06\x00\x00\x00\x00\x00\xff\x7f", 2))
    assert sys_.names() == ["set_dumpable", "close_range", "seccomp_set_filter"]
    assert sys_.calls[-1] == ("seccomp_set_filter", (b"\x06\x00\x00\x00\x00\x00\xff\x7f", 2))


def test_no_filter_no_call():
    sys_ = RecordingSys()
    seal_for_exec(sys_)
    assert "seccomp_set_filter" not in sys_.names()


def test_spec_defaults_to_dockers_profile():
    from glassbox.runtime.spec import ProcessSpec
    spec = ProcessSpec(id="x", args=["true"], env=[])
    assert spec.seccomp == "default"
    old = spec.to_json()
    old.pop("seccomp")                        # a container created before the field
    assert ProcessSpec.from_json(old).seccomp == "default"
