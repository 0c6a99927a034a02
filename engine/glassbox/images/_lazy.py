"""Import a module on first attribute access (keeps ``glassbox run`` start-up small)."""

from __future__ import annotations

import importlib


class lazy_module:  # noqa: N801 - reads like the module it stands for
    def __init__(self, name: str):
        self.__name = name
        self.__mod = None

    def __getattr__(self, attr: str):
        if self.__mod is None:
            self.__mod = importlib.import_module(self.__name)
        return getattr(self.__mod, attr)
