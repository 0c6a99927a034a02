"""The suite's own layout: every test file has a basename of its own.

pytest imports test modules by basename (no packages here), so two files named
``test_x.py`` in different directories stop the *whole* run at collection — the
targeted runs that pass alone never show it."""

from __future__ import annotations

import collections
import os

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_no_two_test_files_share_a_basename():
    seen = collections.defaultdict(list)
    for d, _dirs, files in os.walk(TESTS):
        if "node_modules" in d:
            continue
        for f in files:
            if f.startswith("test_") and f.endswith(".py"):
                seen[f].append(os.path.relpath(os.path.join(d, f), TESTS))
    dupes = {k: v for k, v in seen.items() if len(v) > 1}
    assert not dupes, dupes
