"""The Indonesian catalog covers every word the code marks, with nothing
fuzzy or stale, and keeps each sentence's placeholders; dates and numbers
are written as each language writes them."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from maxchat_data import i18n

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(\w+\)[sd]|%[sd]")


def marked() -> set[str]:
    """Every message id the code marks with _(), ngettext() or N_()."""
    found = set()
    for folder in ("maxchat_data", "server", "ui", "app_pages"):
        for _file, _line, message, _comments, _context in extract_from_dir(ROOT / folder, method_map=[("**.py", "python")]):
            found.update([message] if isinstance(message, str) else [m for m in message if m])
    for name in ("dashboard.py",):
        with (ROOT / name).open("rb") as f:
            from babel.messages.extract import extract
            for _line, message, _comments, _context in extract("python", f):
                found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def catalog():
    with i18n.catalog_path("id").open("rb") as f:
        return read_po(f, locale="id")


def test_the_indonesian_catalog_covers_every_marked_word_with_nothing_fuzzy_or_stale():
    cat = catalog()
    # A plural entry covers its singular and its plural id.
    ids = {i: m for m in cat if m.id for i in ([m.id] if isinstance(m.id, str) else m.id)}
    code = marked()
    missing = sorted(code - set(ids))
    assert not missing, f"{len(missing)} marked words have no Indonesian entry, e.g. {missing[:5]}"
    fuzzy = sorted(k for k, m in ids.items() if m.fuzzy)
    assert not fuzzy, f"fuzzy entries: {fuzzy[:5]}"
    empty = sorted(k for k, m in ids.items() if not (m.string if isinstance(m.string, str) else all(m.string)))
    assert not empty, f"untranslated entries: {empty[:5]}"
    stale = sorted(set(ids) - code)
    assert not stale, f"entries no code uses any more: {stale[:5]}"


def test_translations_keep_their_placeholders_and_kept_words_are_the_guides():
    for m in catalog():
        if not m.id:
            continue
        pairs = zip(m.id, m.string) if isinstance(m.id, tuple) else [(m.id, m.string)]
        for source, translated in pairs:
            assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(translated)), (source, translated)
        if m.string == m.id:
            assert m.id in i18n.KEPT or not re.search(r"[A-Za-z]{2}", m.id), \
                f"{m.id!r} is the same in Indonesian: translate it or add it to i18n.KEPT (the guide's words)"


def test_dates_and_numbers_follow_the_language(monkeypatch):
    monkeypatch.delenv("MAXCHAT_LANGUAGE", raising=False)  # the tests' own default is en (conftest)
    moment = datetime(2026, 12, 3, 12, 51, tzinfo=timezone.utc)
    jakarta = __import__("zoneinfo").ZoneInfo("Asia/Jakarta")
    i18n.use("id")
    assert i18n.when(moment, jakarta) == "3 Des 2026 19.51"
    assert i18n.number(1234) == "1.234" and i18n.number(0.5, 1) == "0,5"
    assert i18n.weekday(0) == "Senin" and i18n.month(12) == "Des"
    i18n.use("en")
    assert i18n.when(moment, jakarta) == "3 Dec 2026 19:51"
    assert i18n.number(1234) == "1,234" and i18n.weekday(0) == "Monday"
    i18n.use(None)
    assert i18n.current() == "id"


def test_an_unknown_language_falls_back_to_the_default(monkeypatch):
    monkeypatch.setenv("MAXCHAT_LANGUAGE", "en")
    assert i18n.use("xx") == "en" and i18n.use("ID") == "id"
    monkeypatch.setenv("MAXCHAT_LANGUAGE", "klingon")
    assert i18n.default_language() == "id"
