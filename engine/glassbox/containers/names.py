"""Container ids and Docker-style random names (``focused_turing``)."""

from __future__ import annotations

import os
import re

from ..errors import InvalidArgument

NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

_LEFT = ("admiring", "bold", "brave", "busy", "clever", "dreamy", "eager", "focused", "gallant",
         "happy", "jolly", "keen", "loving", "modest", "nifty", "quirky", "serene", "sharp",
         "stoic", "tender", "vibrant", "wizardly", "youthful", "zealous")
_RIGHT = ("babbage", "curie", "darwin", "dijkstra", "einstein", "euler", "feynman", "hopper",
          "kepler", "knuth", "lamarr", "lovelace", "mccarthy", "noether", "pasteur", "ritchie",
          "shannon", "thompson", "torvalds", "turing", "wozniak", "yonath")


def new_id() -> str:
    return os.urandom(32).hex()


def _pick(words: tuple[str, ...]) -> str:
    return words[int.from_bytes(os.urandom(2), "big") % len(words)]


def random_name() -> str:
    return f"{_pick(_LEFT)}_{_pick(_RIGHT)}"


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InvalidArgument(f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] '
                              'are allowed')
    return name.lstrip("/")
