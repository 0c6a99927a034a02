"""Building images from a Dockerfile.

A build reads a *Dockerfile* (``dockerfile.py``: text → stages → instructions, and the
ARG/ENV scoping that expands ``$VAR`` step by step) and a *build context*
(``context.py``: the directory or tar the COPY/ADD instructions read, filtered by
``.dockerignore``). Each instruction either changes only the image config (ENV, CMD,
LABEL… — an "empty layer" in the history) or produces a layer (RUN in a real container,
COPY/ADD from the context). The layer cache keys each step on the parent image, the
instruction, the build args it sees and the checksum of the files it reads.

Modules are imported lazily by the builder and the CLI: import them directly, e.g.
``from glassbox.build.dockerfile import parse``.

Notebook: ``notebooks/en/05-dockerfile.ipynb``
"""
