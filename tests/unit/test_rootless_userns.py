"""What a failed ``unshare(CLONE_NEWUSER)`` tells the user (issue 14, bad input).

The system suite turns user namespaces off for real only one way
(``user.max_user_namespaces = 0`` inside a namespace of its own, ENOSPC); the
other causes — ``kernel.unprivileged_userns_clone=0`` (Debian's old sysctl) and
an AppArmor ``restrict_unprivileged_userns`` policy (Ubuntu 24.04) — fail with
EPERM/EACCES, which cannot be caused without changing the host, so their words
are checked here, on the same function the shim uses.
"""

from __future__ import annotations

import errno

import pytest

from glassbox.errors import KernelError
from glassbox.rootless.userns import UsernsError, _unshare_user, unshare_hint


@pytest.mark.parametrize("err", [errno.EPERM, errno.EACCES])
def test_a_refused_user_namespace_names_both_causes_and_the_fix(err):
    hint = unshare_hint(err)
    assert "kernel.unprivileged_userns_clone=0" in hint
    assert "AppArmor" in hint and "restrict_unprivileged_userns" in hint
    assert "sysctl -w kernel.unprivileged_userns_clone=1" in hint


def test_a_kernel_without_user_namespaces_is_named():
    assert "CONFIG_USER_NS" in unshare_hint(errno.EINVAL)


def test_the_shims_error_carries_the_hint():
    class Refusing:
        def unshare(self, flags):
            raise KernelError(errno.EPERM, "unshare", "")

    with pytest.raises(UsernsError) as got:
        _unshare_user(Refusing())
    assert "cannot create a user namespace" in got.value.message
    assert "AppArmor" in got.value.message
