"""The notebook front end's message catalogue (glassbox.jupyter.messages): every
message in both languages, with the same placeholders, and the language switch.

The other half of "pt-BR on par" is in test_notebooks.py: the executed pt-BR
notebooks' outputs must contain none of the English catalogue's texts
(:func:`english_fragments`) nor the known English phrases of the course's own cells.
"""

from __future__ import annotations

import re
import string

import pytest

from glassbox.errors import InvalidArgument
from glassbox.jupyter import messages
from glassbox.jupyter.messages import CATALOGUE, LANGUAGES, t


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def english_fragments(min_len: int = 8) -> dict[str, str]:
    """key → the longest literal piece of its English text that the Portuguese text does
    not share (placeholders cut out): what a pt-BR output must never contain. Keys whose
    two texts are alike (``CPU %``, ``OOM kills``) have none."""
    out = {}
    for key, texts in CATALOGUE.items():
        en, pt = texts["en"], texts["pt-BR"]
        pieces = [p.strip(" :·—()<>/") for p in re.split(r"\{[^}]*\}|<[^>]+>|\|", en)]
        pieces = [p for p in pieces if len(p) >= min_len and p.lower() not in pt.lower()]
        if pieces:
            out[key] = max(pieces, key=len)
    return out


def test_every_message_has_both_languages_with_the_same_placeholders():
    for key, texts in CATALOGUE.items():
        assert set(texts) == set(LANGUAGES), f"{key}: {sorted(texts)}"
        for lang in LANGUAGES:
            assert texts[lang].strip(), f"{key} is empty in {lang}"
        assert _fields(texts["en"]) == _fields(texts["pt-BR"]), \
            f"{key}: the languages fill in different values"
        if "|" in texts["en"]:             # table headers: the same number of columns
            assert texts["en"].count("|") == texts["pt-BR"].count("|"), key


def test_the_portuguese_texts_are_translations():
    """Not a copy of the English: most messages differ (a few are the same words in both,
    like "CPU %")."""
    same = [k for k, v in CATALOGUE.items() if v["en"] == v["pt-BR"]]
    assert len(same) < len(CATALOGUE) // 5, same
    assert len(english_fragments()) > len(CATALOGUE) // 2


@pytest.fixture
def lang():
    saved = messages._current
    yield messages.language
    messages._current = saved


def test_language_is_chosen_by_the_notebook_then_the_locale(lang, monkeypatch):
    monkeypatch.setattr(messages, "_current", None)
    monkeypatch.setenv("LC_ALL", "pt_BR.UTF-8")
    assert lang() == "pt-BR" and t("exit.code", code=3) == "código de saída 3"
    assert lang("en") == "en" and t("exit.code", code=3) == "exit code 3"
    assert lang("pt_br") == "pt-BR" and t("table.empty") == "nenhum"
    with pytest.raises(InvalidArgument, match="unknown language 'fr'"):
        lang("fr")
    assert lang() == "pt-BR"                  # a bad name changes nothing
