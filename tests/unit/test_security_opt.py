"""--security-opt: the options that say what glassbox does are accepted, the rest refused."""

import pytest

from glassbox.containers.options import security_options
from glassbox.errors import InvalidArgument


def test_accepted_forms_are_normalised():
    assert security_options(["no-new-privileges", "no-new-privileges:true", "seccomp=unconfined",
                             "seccomp:unconfined", "apparmor=unconfined", "label=disable"]) == [
        "no-new-privileges", "no-new-privileges=true", "seccomp=unconfined", "seccomp=unconfined",
        "apparmor=unconfined", "label=disable"]


@pytest.mark.parametrize("raw, words", [
    ("seccomp=/nonexistent/profile.json", "cannot read the profile"),
    ("no-new-privileges=false", "always sets"),
    ("apparmor=docker-default", "no apparmor profile"),
    ("label=type:svirt_t", "no label profile"),
    ("bogus=1", "unknown option 'bogus'"),
])
def test_refused_with_a_message_naming_it(raw, words):
    with pytest.raises(InvalidArgument) as e:
        security_options([raw])
    assert words in str(e.value) and raw.split("=")[0] in str(e.value)
