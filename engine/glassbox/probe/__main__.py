"""``python -m glassbox.probe`` builds the probe; ``--run IMAGE`` shows its table."""

import sys

from . import _main

sys.exit(_main(sys.argv[1:]))
