"""The only place glassbox makes raw system calls.

Everything that needs the kernel — ``unshare``, ``setns``, ``mount``,
``pivot_root``, ``sethostname``, ``prctl``, ``capset`` — goes through a
:class:`Sys` object. The real one (:data:`real`) calls libc through ctypes and
raises :class:`~glassbox.errors.KernelError` carrying errno, the operation and
the path. :class:`~glassbox._sys.fake.RecordingSys` has the same methods and
only records the calls, so the rootfs and namespace steps can be unit-tested
without root (the youki pattern: one syscall trait, a real and a recording
implementation).
"""

from __future__ import annotations

from .constants import *  # noqa: F401,F403  (flags are part of the seam's vocabulary)
from .linux import Sys, real  # noqa: F401
