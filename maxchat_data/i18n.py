"""The app's words in Bahasa Indonesia and English: gettext catalogs, and
dates and numbers as each language writes them (Babel).

Message ids are the English sentences. The catalogs are
``maxchat_data/locale/<lang>/LC_MESSAGES/maxchat.po``; they are compiled in
memory when first used (Babel), so a catalog edited in the repository is
never shadowed by a stale ``.mo``. How to extract and update them: README,
"Languages".

The language is per person: each page run calls ``use(agent's language)``
first, and everything that page run shows, domain errors included, is in
that language (a context variable: Streamlit runs each session's script in
its own thread). Work with no person behind it (webhooks, workers, the
command line) speaks the default, ``MAXCHAT_LANGUAGE`` (``id``)."""
from __future__ import annotations

import contextvars
import io
import json
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from . import config

DOMAIN = "maxchat"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# code -> the language's own name, as the picker shows it.
LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}
SOURCE = "en"  # message ids are English

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("maxchat_language", default=None)
# Whose language a run speaks before it calls use(): a widget's callback
# runs before the page, and a fragment's or a dialog's rerun never runs the
# page. The web app sets this to read the logged-in person (ui.auth).
def _nobody() -> str | None:
    return None


_person: Callable[[], str | None] = _nobody


def default_language() -> str:
    """MAXCHAT_LANGUAGE, or ``id``; an unknown code falls back to ``id``."""
    code = (config.get("MAXCHAT_LANGUAGE") or "id").strip().lower()
    return code if code in LANGUAGES else "id"


def clean(code: str | None) -> str | None:
    """A language code the app has, or None."""
    code = (code or "").strip().lower()
    return code if code in LANGUAGES else None


def use(code: str | None) -> str:
    """Speak ``code`` (or the default) for the rest of this page run."""
    chosen = clean(code) or default_language()
    _current.set(chosen)
    return chosen


@contextmanager
def use_for(code: str):
    """Speak ``code`` inside the ``with`` only (English for a log line)."""
    token = _current.set(clean(code) or current())
    try:
        yield
    finally:
        _current.reset(token)


def speak_for(person: Callable[[], str | None]) -> None:
    """``person()``: the language of whoever the current run is for, or None."""
    global _person
    _person = person


def current() -> str:
    return _current.get() or clean(_person()) or default_language()


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)
def translations(code: str) -> NullTranslations:
    """The compiled catalog of ``code``: English ids pass through untranslated."""
    path = catalog_path(code)
    if code == SOURCE or not path.is_file():
        return NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def _(message: str) -> str:
    """``message`` (an English sentence) in the current language."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a sentence for the catalogs where it is defined (a constant);
    ``_()`` translates it where it is shown."""
    return message


class _Later:
    """Sentences stored now and shown later in the language of whoever reads
    them: activity lines, the reason a message failed. What is stored is the
    English id and its values as JSON; ``shown()`` translates it at display.
    A value may itself be such a sentence; any other value is data (a name,
    a provider's own words) and is shown as is, an ``int`` as the reader's
    language writes numbers. Called ``later._`` and ``later.ngettext`` so
    the extractor finds the ids like any other."""

    @staticmethod
    def _(message: str, **values) -> str:
        return json.dumps({"said": message, "with": values}, ensure_ascii=False, separators=(",", ":"))

    @staticmethod
    def ngettext(singular: str, plural: str, n: int, **values) -> str:
        return json.dumps({"said": singular, "plural": plural, "n": n, "with": values}, ensure_ascii=False,
                          separators=(",", ":"))


later = _Later()


def _stored(text) -> dict | None:
    if not isinstance(text, str) or not text.startswith('{"said":'):
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) and isinstance(found.get("said"), str) else None


def shown(stored: str | None, language: str | None = None) -> str | None:
    """A stored sentence in the current language (or ``language``): one
    from ``later`` is translated with its values; anything else (a row
    written before sentences were stored this way, a provider's text) is
    shown as stored."""
    found = _stored(stored)
    if found is None:
        return stored
    if language is not None:
        with use_for(language):
            return shown(stored)
    values = {k: shown(v) if isinstance(v, str) else number(v) if isinstance(v, int) and not isinstance(v, bool)
              else v for k, v in (found.get("with") or {}).items()}
    if "plural" in found:
        message = ngettext(found["said"], found["plural"], int(found.get("n") or 0))
    else:
        message = _(found["said"])
    try:
        return message.format(**values)
    except (KeyError, IndexError, ValueError):
        return message  # a value missing from a row: the sentence without it rather than a crash


def english(stored: str | None) -> str | None:
    """A stored sentence in English, for log lines (operators read English)."""
    return shown(stored, SOURCE)


def _locale() -> Locale:
    return Locale.parse(current())


def number(value: float | int, decimals: int | None = None) -> str:
    """``1.234`` in Indonesian, ``1,234`` in English."""
    if decimals is None:
        return numbers.format_decimal(value, locale=_locale())
    return numbers.format_decimal(value, format=f"#,##0.{'0' * decimals}" if decimals else "#,##0",
                                  locale=_locale())


def percent(value: float, decimals: int = 0) -> str:
    return numbers.format_percent(value, format=f"#,##0.{'0' * decimals}%" if decimals else "#,##0%",
                                  locale=_locale())


def when(moment: datetime, tz: tzinfo | None = None) -> str:
    """A date and time: ``3 Des 2026 19.51`` / ``3 Dec 2026 19:51``."""
    return dates.format_datetime(moment, "d MMM yyyy HH:mm" if current() == "en" else "d MMM yyyy HH.mm",
                                 tzinfo=tz, locale=_locale())


def day(moment, fmt: str = "d MMM yyyy") -> str:
    """A date (``3 Des 2026``); ``fmt`` in Babel's pattern language."""
    return dates.format_date(moment, fmt, locale=_locale())


def clock(moment: datetime, tz: tzinfo | None = None) -> str:
    """A time of day: ``19.51`` / ``19:51``."""
    return dates.format_time(moment, "HH:mm" if current() == "en" else "HH.mm", tzinfo=tz, locale=_locale())


def weekday(index: int, width: str = "wide") -> str:
    """Monday = 0: ``Senin`` / ``Monday``."""
    return _locale().days["format"][width][index]


def month(index: int, width: str = "abbreviated") -> str:
    """January = 1: ``Jan`` … ``Des``."""
    return _locale().months["format"][width][index]


# Words the Maxchat guide itself writes in English: its Indonesian users know
# the buttons by these names, so the Indonesian catalog keeps them as they are.
KEPT = frozenset({
    "Chat", "My Chat", "All", "Unassigned", "Archived", "Archive", "Unarchive", "Resolve", "Resolved", "Open",
    "Send", "Send Template", "Info Profile", "Notes", "Label", "Labels", "Template", "Templates",
    "Set as Initiate Message", "Block", "Unblock", "Admin", "Online", "Offline", "Search", "Attachment",
    "WhatsApp", "Messenger", "Telegram", "Facebook Messenger", "Email", "Status", "Maxchat Inbox",
    "Monitor", "SQL", "CSV", "Parquet", "Broadcast", "Broadcasts", "BOT", "Simulator", "Pending", "Accepted",
    "Rejected", "Channel", "Quick replies", "Video", "Audio", "Sandbox (demo)",
})
