"""Every visible text of the app goes through webcare.i18n and has a Dutch translation."""

from __future__ import annotations

import re

from tests.conftest import REPO
from webcare import i18n

CALL = re.compile(r"""\bt\(\s*((?:(?:"[^"]*"|'[^']*')\s*)+)""")


def _texts() -> set[str]:
    found = set()
    for path in [REPO / "app.py", *sorted((REPO / "app_pages").glob("*.py"))]:
        for match in CALL.finditer(path.read_text(encoding="utf-8")):
            found.add("".join(s[1:-1] for s in re.findall(r'"[^"]*"|\'[^\']*\'', match.group(1))))
    return found


def test_every_text_has_a_dutch_translation():
    texts = _texts()
    assert len(texts) > 100
    missing = sorted(t for t in texts if t not in i18n.NL)
    assert not missing, missing


def test_translations_keep_their_placeholders():
    for english, dutch in i18n.NL.items():
        assert set(re.findall(r"\{(\w+)", english)) == set(re.findall(r"\{(\w+)", dutch)), english


def test_lookup_and_formatting():
    assert i18n.t("Staffing", lang="nl") == "Bezetting" and i18n.t("Staffing", lang="en") == "Staffing"
    assert i18n.t("{n} event(s) saved.", lang="nl", n=2) == "2 gebeurtenis(sen) opgeslagen."
    assert i18n.t("a text nobody translated", lang="nl") == "a text nobody translated"
    assert i18n.language() == "en"  # outside a Streamlit session
