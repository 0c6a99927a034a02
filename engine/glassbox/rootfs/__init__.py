"""The container's root filesystem (seed a.3; notebooks 03 and 06).

An image is a stack of read-only layer directories. The container sees them
merged by the kernel's overlay filesystem::

    merged/   = what the container sees as /
    upper/    = the container's own read/write layer (copy-up on write,
                whiteouts on delete) — ``glassbox diff`` and ``commit`` read it
    work/     = overlay's scratch space
    lower     = the image's unpacked layers, top first

:func:`setup.build_rootfs` then gives the container its own /proc, a read-only
/sys, a minimal /dev, the generated /etc/hostname, /etc/hosts and
/etc/resolv.conf, masks Docker's sensitive /proc paths, and ``pivot_root``s
into it, so no host mount stays visible. Each step is a small function in
:mod:`.overlay`, :mod:`.dev`, :mod:`.masks`, :mod:`.propagation` (which mount
events cross between host and container) and :mod:`.pivot`; every one takes
the syscall seam as a parameter so the sequence is unit-tested with a recording
fake.

Notebooks: ``notebooks/en/03-overlay-filesystem.ipynb`` and ``notebooks/en/06-read-write-layer.ipynb``
"""
