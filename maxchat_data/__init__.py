"""The data and its rules: the store (a DuckDB file, or PostgreSQL for
several replicas), every chat rule, the channel
parsers and clients. Imports no web framework (no streamlit, no starlette):
anything may import it: ``server``, the pages, scripts, tests, benchmarks."""
from __future__ import annotations

import os

from . import config, facts
from .errors import MaxchatError, NotAllowed, NotFound, ValidationError
from .progress import Report
from .store import Store, is_database_url

__all__ = ["open_store", "Store", "MaxchatError", "NotAllowed", "NotFound", "ValidationError"]


def open_store(where: str | os.PathLike | None = None, media_dir: str | os.PathLike | None = None,
               progress: Report | None = None) -> Store:
    """The one way to open the app's database, as the server, the command
    line, the benchmarks and the tests of a whole app do:

    - ``where``: a PostgreSQL URL (several replicas) or a DuckDB file; unset,
      ``MAXCHAT_DATABASE_URL``, else ``MAXCHAT_DB``. Created or upgraded to
      the latest migration.
    - ``media_dir``: where attachments are stored; unset, ``MAXCHAT_MEDIA_DIR``
      (default ``data/media``), whichever the engine and wherever the file.
    - ``progress`` hears (migrations applied, migrations to apply).
    - The writer keeps the reports' facts folded (``facts.keep``).

    ``Store(path, media_dir)`` and ``pg_store.PgStore(url, media_dir)`` open
    one engine without the defaults and the upkeep: for tests of the store
    itself and the copy to PostgreSQL."""
    where = where or config.get("MAXCHAT_DATABASE_URL") or config.get("MAXCHAT_DB")
    media_dir = media_dir or config.get("MAXCHAT_MEDIA_DIR")
    if is_database_url(where):
        from .pg_store import PgStore  # psycopg only when PostgreSQL is asked for
        store = PgStore(str(where), media_dir, progress)
    else:
        store = Store(where, media_dir, progress)
    facts.keep(store)
    return store
