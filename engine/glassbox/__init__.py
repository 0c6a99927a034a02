"""glassbox: a container lab you can watch the kernel build.

Public names are re-exported lazily, so ``import glassbox`` stays cheap on the
container start path::

    from glassbox import Engine
    eng = Engine()                       # GLASSBOX_ROOT or /var/lib/glassbox
    out = eng.run("busybox", ["echo", "hi"], remove=True)

Magics for IPython live in :mod:`glassbox.jupyter` (``%load_ext glassbox``).
"""

__version__ = "0.1.0"

_EXPORTS = {
    "Engine": "glassbox.engine",
    "CreateOptions": "glassbox.containers.options",
    "GlassboxError": "glassbox.errors", "NotFound": "glassbox.errors",
    "Conflict": "glassbox.errors", "InvalidArgument": "glassbox.errors",
    "Forbidden": "glassbox.errors",
    "BuildError": "glassbox.errors", "RegistryError": "glassbox.errors",
    "KernelError": "glassbox.errors", "ContainerExit": "glassbox.errors",
}


def __getattr__(name):
    if name in _EXPORTS:
        import importlib
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'glassbox' has no attribute {name!r}")


def load_ipython_extension(ipython):  # pragma: no cover - exercised by notebook tests
    from .jupyter import load_ipython_extension as load
    load(ipython)


__all__ = sorted(_EXPORTS)
