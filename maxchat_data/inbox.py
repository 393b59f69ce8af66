"""What the Chat page reads: the inbox finder (L1-L5), one chat with its
profile, the thread (T1), and new inbound messages for notifications (L7).

The finder follows Chatwoot's ConversationFinder: one request (tab, statuses,
labels, channels, name search, page) becomes every tab's count and one page
query over the same filters, reading only the ``chats`` table, and the wide
columns of the 30 rows chosen last (find_chats). The counts come from the
writer's tally (chat_tally.py) on DuckDB, and from a scan on PostgreSQL
(one for counts and page with a label or a name search)."""
from __future__ import annotations

import re
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from . import team
from .chat_tally import kept_by
from .common import CHANNELS, STATUSES, TABS, details_of, search_key
from .errors import NotAllowed, NotFound, ValidationError
from .i18n import _
from .store import Store, in_list, utcnow
from .window import reply_window

PAGE_SIZE = 30
NAME_HOLDS = "strpos(search_name, $needle) > 0"
TABS_FOR_OWN_ONLY = ("My Chat", "Unassigned")

_TAB_WHERE = {
    "My Chat": "NOT archived AND assignee_id = $agent",
    "All": "NOT archived",
    "Unassigned": "NOT archived AND assignee_id IS NULL",
    "Archived": "archived",
}
# The same rules for a group of chats (chat_tally.py): (archived, assignee, agent).
_TAB_HOLDS = {
    "My Chat": lambda archived, assignee, agent: not archived and assignee == agent,
    "All": lambda archived, assignee, agent: not archived,
    "Unassigned": lambda archived, assignee, agent: not archived and assignee is None,
    "Archived": lambda archived, assignee, agent: archived,
}


@dataclass(frozen=True)
class InboxQuery:
    tab: str = "All"
    statuses: tuple[str, ...] = ()
    label_ids: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()
    search: str = ""
    page: int = 1
    page_size: int = PAGE_SIZE

    def check(self) -> None:
        if self.tab not in TABS:
            raise ValidationError(_("Unknown tab {tab!r}.").format(tab=self.tab))
        if set(self.statuses) - set(STATUSES):
            raise ValidationError(_("Unknown status in {statuses}.").format(statuses=self.statuses))
        if set(self.channels) - set(CHANNELS):
            raise ValidationError(_("Unknown channel in {channels}.").format(channels=self.channels))
        if self.page < 1 or not 1 <= self.page_size <= 200:
            raise ValidationError(_("Bad page."))


@dataclass
class InboxPage:
    chats: list[dict]
    counts: dict[str, int]          # every tab's count under the same filters
    total: int                      # chats in the chosen tab
    page: int
    pages: int
    version: int = 0
    query: InboxQuery = field(default_factory=InboxQuery)


# The page's columns, read for its rows only once they are chosen.
_ROW = ("SELECT c.id, c.contact_id, c.channel, c.contact_name, c.status, c.assignee_id, a.display_name AS assignee,"
        " c.archived, c.blocked, c.label_ids, c.unread, c.last_message_at, c.last_preview, c.last_direction,"
        " c.last_inbound_at FROM chats c LEFT JOIN agents a ON a.id = c.assignee_id WHERE c.id ")
_ORDER = " ORDER BY last_message_at DESC NULLS LAST, id DESC LIMIT $limit OFFSET $offset"
_COUNTS = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in _TAB_WHERE.values())
# A page is first looked for among the chats written to in the last day,
# then the last month, then all: most pages lie in the newest, and a filter
# on last_message_at is the cheapest a scan does (measured at 1M chats:
# the page in 3-7 ms instead of 5-18).
HORIZONS = (timedelta(days=1), timedelta(days=30))


def find_chats(store: Store, agent_id: int | None, query: InboxQuery) -> InboxPage:
    """One page of chats and every tab's count under the query's filters.

    Read between two commits, the same question is answered from memory
    (``_Answers``): the Chat page of every agent asks it every few seconds.
    Otherwise the counts are added up from the writer's groups of chats
    (chat_tally.py: at 1M chats 6-18 ms for the whole answer instead of
    18-35 with a scan) and the page looks among the newest chats first
    (HORIZONS). A name search is counted from the groups of the chats one
    scan fetches: those it finds, or those it does not when it finds most
    (``_search_by_groups``); in between, and for a label or a search on
    PostgreSQL, where other replicas write too, one scan counts and pages."""
    query.check()
    version = store.version  # read first: a change after this shows next poll
    where, params = ["TRUE"], {"agent": agent_id if agent_id is not None else -1}
    own_only = team.sees_only_own(store, agent_id)
    if own_only:
        # W3, here and not only in the tabs: every tab and count is cut down.
        if query.tab == "All":
            raise NotAllowed(_(team.OWN_ONLY))
        where.append("(assignee_id = $agent OR assignee_id IS NULL)")
    # IN (...) of single parameters: measured faster in DuckDB than
    # list_contains or = ANY of an array, and the same SQL on PostgreSQL.
    if query.statuses:
        sql, more = in_list("status", query.statuses)
        where.append("status " + sql)
        params.update(more)
    if query.channels:
        sql, more = in_list("channel", query.channels)
        where.append("channel " + sql)
        params.update(more)
    needle = search_key(query.search.strip())
    if needle:
        where.append(NAME_HOLDS)
        params["needle"] = needle
    if query.label_ids:
        labelled, more = store.engine.has_labels(query.label_ids)
        where.append(labelled)
        params.update(more)
    filters = " AND ".join(where)
    answers = _Answers.of(store, version)
    counts_key = (agent_id, own_only, query.statuses, query.channels, query.label_ids, needle)
    page_key = (counts_key, query.tab, query.page, query.page_size)
    offset = (query.page - 1) * query.page_size
    page_params = {**params, "limit": query.page_size, "offset": offset}
    counts, chats = answers.get(counts_key), answers.get(page_key)
    if chats is None or counts is None:
        cur = store.cursor()
        try:
            ids = None
            tally = store.chat_tally() if counts is None else None
            assignees = (params["agent"], None) if own_only else None
            if tally is not None and needle:
                kept = kept_by(query.statuses, query.channels, query.label_ids, assignees)
                counts, ids = _search_by_groups(cur, store, tally, query, f" AND {labelled}" if query.label_ids else "",
                                                filters, page_params, kept)
            elif tally is not None and not needle:
                held = tally.counts(query.statuses, query.channels, query.label_ids, assignees)
                counts = {tab: sum(n for (archived, assignee), n in held.items()
                                   if holds(archived, assignee, params["agent"]))
                          for tab, holds in _TAB_HOLDS.items()}
            if counts is None and (query.label_ids or needle):
                counts, ids = _counts_and_page(cur, filters, query.tab, page_params)
            if counts is None:
                counts = dict(zip(TABS, _run(cur, f"SELECT {_COUNTS} FROM chats WHERE {filters}", params).fetchone()))
            if ids is None:
                ids = _page(cur, filters, query.tab, page_params, counts[query.tab])
            chats = _rows(cur, ids)
        finally:
            cur.close()
        answers.keep(counts_key, counts)
        answers.keep(page_key, chats)
    total = counts[query.tab]
    pages = max(1, -(-total // query.page_size))
    return InboxPage([dict(c) for c in chats], dict(counts), total, query.page, pages, version, query)


def _search_by_groups(cur, store: Store, tally, query: InboxQuery, scope: str, filters: str, params: dict,
                      kept) -> tuple[dict[str, int] | None, list[int] | None]:
    """Counts and page ids for a name search, from the tally's groups of the
    chats one scan fetches (``scope``: any label filter, which the scan
    reads cheaply): the chats it finds when they are few, the ones it does
    not when it finds most (1M chats: 'a' finds 95 %); (None, None) in
    between, where the scan that counts them is as cheap (measured
    alternating at 1M chats: 'sant', 57k chats, 8.8 ms instead of 9.9 for
    the scan; 'ri' with Open, 153k, 11.8 instead of 11.2; 'a' 11.1 instead
    of 23.8).

    The tally is as the last commit left it, the rows as the scan saw them:
    a commit between the two shows at the next poll, as the counts beside a
    page do."""
    share = _NameSample.of(store, cur).share_holding(params["needle"])
    if share > 0.5:
        return _search_many(cur, tally, query.tab, scope, filters, params, kept)
    if not share or share * sum(tally.counts(label_ids=query.label_ids).values()) <= FEW_ROWS:
        return _search_few(cur, store, tally, query.tab, scope, params, kept)
    return None, None


FEW_ROWS = 100_000  # chats a search may find for _search_few to fetch them


class _NameSample:
    """Some chats' search names, to tell what share of the chats a search
    finds before looking (at 1M chats, 2,048 names: within 2 points of the
    share, read in 3-4 ms, which a count of the matches would cost at every
    search). Read again after ``AGE`` seconds: it only picks the cheaper way
    to the same answer."""

    ROWS, AGE = 2048, 600.0
    _of: "weakref.WeakKeyDictionary[Store, _NameSample]" = weakref.WeakKeyDictionary()
    _lock = threading.Lock()

    def __init__(self, names: list[str]):
        self.names, self.taken = names, time.monotonic()

    @classmethod
    def of(cls, store: Store, cur) -> "_NameSample":
        with cls._lock:
            found = cls._of.get(store)
        if found is None or time.monotonic() - found.taken > cls.AGE:
            # DuckDB's sample clause: only the tally's engine comes here.
            found = cls([n for (n,) in cur.execute(
                f"SELECT search_name FROM chats USING SAMPLE {cls.ROWS} ROWS").fetchall()])
            with cls._lock:
                cls._of[store] = found
        return found

    def share_holding(self, needle: str) -> float:
        return sum(needle in name for name in self.names) / len(self.names) if self.names else 0.0


NEVER = np.iinfo(np.int64).min + 1  # no message yet: after every other, as NULLS LAST


def _search_few(cur, store: Store, tally, tab: str, scope: str, params: dict, kept):
    """The chats found are fetched and their page sorted here (1M chats:
    'sant' 5 ms instead of 7 for the scan that counts them; with 2 labels,
    2 statuses and 2 channels 8 instead of 13)."""
    rows = _run(cur, f"SELECT id, coalesce({store.engine.epoch_us('last_message_at')}, {NEVER}) AS at"
                     f" FROM chats WHERE {NAME_HOLDS}{scope}", params).fetchnumpy()
    groups, keys, _ = tally.groups_of(rows["id"])
    counts, shown = _tab_counts(np.bincount(groups + 1, minlength=len(keys) + 1)[1:], keys, kept, tab, params)
    ids, at = rows["id"][shown[groups]], rows["at"][shown[groups]]  # group -1 reads the last: False
    end = params["offset"] + params["limit"]
    if len(at) > end:  # only the chats as new as the page's last, ties included, are sorted
        last = np.partition(at, len(at) - end)[len(at) - end]
        newest = at >= last
        ids, at = ids[newest], at[newest]
    order = np.lexsort((ids, at))[::-1]  # newest first, then the higher id, as _ORDER
    return counts, ids[order][params["offset"]:end].tolist()


def _search_many(cur, tally, tab: str, scope: str, filters: str, params: dict, kept):
    """A search that finds most chats: the chats it does not find are
    fetched and taken from the tally's counts, and the page is read as
    without a search (HORIZONS). 'a' finds 95 % of 1M chats: 11 ms this
    way, 38 fetching those it finds, 24 for the scan."""
    missed = _run(cur, f"SELECT id FROM chats WHERE NOT ({NAME_HOLDS}){scope}", params).fetchnumpy()["id"]
    groups, keys, sizes = tally.groups_of(missed)
    per_group = np.array(sizes, dtype=np.int64) - np.bincount(groups + 1, minlength=len(keys) + 1)[1:]
    counts, _ = _tab_counts(per_group, keys, kept, tab, params)
    return counts, _page(cur, filters, tab, params, counts[tab])


def _tab_counts(per_group: np.ndarray, keys: list[tuple], kept, tab: str, params: dict):
    """Every tab's count from chats per group (-1, no such chat, left out),
    and which groups ``tab`` shows, by number with one more for -1: False."""
    kept_groups = [(n, k) for n, k in enumerate(keys) if kept(k)]
    shows = {}
    for name, holds in _TAB_HOLDS.items():
        shows[name] = np.zeros(len(keys) + 1, dtype=bool)
        shows[name][[n for n, k in kept_groups if holds(k[2], k[3], params["agent"])]] = True
    return {name: int(per_group @ shows[name][:-1]) for name in TABS}, shows[tab]


def _run(cur, sql: str, params: dict):
    """``sql`` with those of ``params`` it names (DuckDB refuses unused ones)."""
    return cur.execute(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)})


def _counts_and_page(cur, filters: str, tab: str, params: dict) -> tuple[dict[str, int], list[int]]:
    """Counts and page ids from one scan of the filters: measured at 1M chats
    28% faster than two for a label, 25% for a name search (slower for
    filters that keep most chats: their rows cost more to keep than to find)."""
    rows = _run(cur, f"WITH found AS MATERIALIZED (SELECT id, last_message_at, archived, assignee_id FROM chats"
                     f" WHERE {filters}), page AS (SELECT id, last_message_at FROM found WHERE {_TAB_WHERE[tab]}"
                     f"{_ORDER}) SELECT 0 AS part, {_COUNTS} FROM found UNION ALL"
                     f" SELECT 1, id, NULL, NULL, NULL FROM page", params).fetchall()
    counts = next(dict(zip(TABS, r[1:])) for r in rows if r[0] == 0)
    return counts, [r[1] for r in rows if r[0] == 1]


def _page(cur, filters: str, tab: str, params: dict, total: int) -> list[int]:
    """The page's chat ids, newest first."""
    sql = f"SELECT id, last_message_at FROM chats WHERE {filters} AND {_TAB_WHERE[tab]}"
    wanted = min(params["limit"], total - params["offset"])
    if wanted <= 0:
        return []  # past the last page, by the counts just read
    now = utcnow()
    for horizon in HORIZONS:
        found = _run(cur, sql + " AND last_message_at >= $since" + _ORDER, {**params, "since": now - horizon})
        ids = [r[0] for r in found.fetchall()]
        # As many as the counts promise, from the newest chats: every older
        # chat sorts after them. Short of it, look further back.
        if len(ids) >= wanted:
            return ids
    return [r[0] for r in _run(cur, sql + _ORDER, params).fetchall()]


def _rows(cur, ids: list[int]) -> list[dict]:
    """The chosen chats' rows, in the order of ``ids``."""
    if not ids:
        return []
    sql, params = in_list("id", ids)
    rel = cur.execute(_ROW + sql, params)
    cols = [d[0] for d in rel.description]
    by_id = {r[0]: dict(zip(cols, r)) for r in rel.fetchall()}
    return [by_id[i] for i in ids if i in by_id]


class _Answers:
    """The finder's answers (tab counts, pages) since the last commit.

    Kept only while ``store.version`` stays where it was when they were read:
    every commit of this process bumps it before the writer answers, so an
    answer kept is never older than a change anyone was told is done (the
    writer's upkeep chores, which do not bump it, change no chat). Only on
    an engine with one process per database: on PostgreSQL another
    replica's commit reaches the version a moment later, through its
    listener."""

    LIMIT = 256  # questions kept per version: a busy team's filters, and no more
    _of: "weakref.WeakKeyDictionary[Store, _Answers]" = weakref.WeakKeyDictionary()
    _lock = threading.Lock()

    def __init__(self, version: int, keeps: bool):
        self.version, self.keeps = version, keeps
        self._found: dict = {}

    @classmethod
    def of(cls, store: Store, version: int) -> "_Answers":
        with cls._lock:
            found = cls._of.get(store)
            if found is None or found.version != version:
                # Older answers go; a reader that saw an older version while
                # the writer committed keeps its own (and keeps nothing).
                found = cls(version, store.engine.one_process)
                if version >= getattr(cls._of.get(store), "version", -1):
                    cls._of[store] = found
            return found

    def get(self, key):
        return self._found.get(key)

    def keep(self, key, value) -> None:
        if self.keeps and len(self._found) < self.LIMIT:
            self._found[key] = value


def get_chat(store: Store, chat_id: int, viewer: int | None = None) -> dict:
    """One chat with its contact, session and reply window: the thread
    header and Info Profile. With ``viewer``: only a chat that agent may see (W3)."""
    found = store.dicts(
        "SELECT c.*, a.display_name AS assignee, ct.email, ct.company, ct.phone,"
        " s.initiated_by, s.started_at AS session_started_at"
        " FROM chats c JOIN contacts ct ON ct.id = c.contact_id LEFT JOIN agents a ON a.id = c.assignee_id"
        " LEFT JOIN sessions s ON s.id = c.session_id WHERE c.id = ?", [chat_id])
    if not found:
        raise NotFound(_("Chat {id} does not exist.").format(id=chat_id))
    chat = found[0]
    if chat["assignee_id"] not in (None, viewer) and team.sees_only_own(store, viewer):
        raise NotAllowed(_(team.ASSIGNED_ELSEWHERE))
    chat["window"] = reply_window(chat["channel"], chat["last_inbound_at"])
    return chat


def resolved_by(store: Store, chat_id: int) -> tuple[str | None, object]:
    """Who resolved the chat's current session, and when ((None, None) if nobody)."""
    found = store.one("SELECT a.display_name, s.resolved_at FROM chats c JOIN sessions s ON s.id = c.session_id"
                      " LEFT JOIN agents a ON a.id = s.resolved_by WHERE c.id = ? AND s.resolved_at IS NOT NULL",
                      [chat_id])
    return (found[0] or "BOT", found[1]) if found else (None, None)


def thread(store: Store, chat_id: int, limit: int = 200) -> list[dict]:
    """The last ``limit`` messages and activity lines, oldest first. An
    edited or deleted message carries its ``history`` (earlier texts, oldest
    first)."""
    rows = store.dicts(
        "SELECT * FROM (SELECT m.id, m.session_id, m.direction, m.kind, m.body, m.caption, m.status, m.error,"
        " m.sent_at, m.sender_agent_id, a.display_name AS sender_name, m.template_id, m.details, m.reaction,"
        " m.edited_at, m.deleted_at, m.channel,"
        " f.id AS attachment_id, f.filename, f.mime, f.size, f.path AS attachment_path, s.initiated_by"
        " FROM messages m LEFT JOIN agents a ON a.id = m.sender_agent_id"
        " LEFT JOIN attachments f ON f.id = m.attachment_id LEFT JOIN sessions s ON s.id = m.session_id"
        " WHERE m.chat_id = ? ORDER BY m.sent_at DESC, m.id DESC LIMIT ?) latest ORDER BY sent_at, id",
        [chat_id, limit])
    changed = [r["id"] for r in rows if r["edited_at"] is not None or r["deleted_at"] is not None]
    history: dict[int, list[dict]] = {}
    if changed:
        for h in store.dicts("SELECT message_id, change, old_body, old_caption, changed_at FROM message_changes"
                             " WHERE message_id = ANY(?::BIGINT[]) ORDER BY changed_at", [changed]):
            history.setdefault(h["message_id"], []).append(h)
    for r in rows:
        r["details"] = details_of(r["details"])
        r["history"] = history.get(r["id"], [])
    return rows


def whatsapp_chats_for(store: Store, numbers: list[str]) -> dict[str, int]:
    """The WhatsApp chat of each phone number (digits only) we already have."""
    digits = sorted({re.sub(r"\D", "", n) for n in numbers if n} - {""})
    if not digits:
        return {}
    return dict(store.all("SELECT channel_user_id, id FROM chats WHERE channel = 'whatsapp'"
                          " AND channel_user_id = ANY(?::VARCHAR[])", [digits]))


def latest_message_id(store: Store) -> int:
    return store.one("SELECT coalesce(max(id), 0) FROM messages")[0]


def new_inbound_since(store: Store, after_message_id: int, limit: int = 20) -> list[dict]:
    """L7: inbound messages newer than what a browser has seen, for toasts.
    Blocked contacts raise none (P6)."""
    return store.dicts(
        "SELECT m.id, m.chat_id, m.kind, m.body, m.caption, m.details, c.contact_name, c.channel FROM messages m"
        " JOIN chats c ON c.id = m.chat_id WHERE m.id > ? AND m.direction = 'in' AND m.notify"
        " ORDER BY m.id LIMIT ?", [after_message_id, limit])


def notes(store: Store, chat_id: int) -> list[dict]:
    return store.dicts(
        "SELECT n.id, n.body, n.created_at, a.display_name AS author FROM notes n"
        " JOIN agents a ON a.id = n.author_id WHERE n.contact_id = (SELECT contact_id FROM chats WHERE id = ?)"
        " ORDER BY n.created_at DESC", [chat_id])


def chat_label_ids(store: Store, chat_id: int) -> list[int]:
    found = store.one("SELECT label_ids FROM chats WHERE id = ?", [chat_id])
    if found is None:
        raise NotFound(_("Chat {id} does not exist.").format(id=chat_id))
    return list(found[0])


def attachment(store: Store, attachment_id: int) -> dict:
    found = store.dicts("SELECT * FROM attachments WHERE id = ?", [attachment_id])
    if not found:
        raise NotFound(_("Attachment {id} does not exist.").format(id=attachment_id))
    return found[0]


def events(store: Store, chat_id: int) -> list[dict]:
    return store.dicts("SELECT e.*, a.display_name AS actor FROM events e LEFT JOIN agents a ON a.id = e.actor_id"
                       " WHERE e.chat_id = ? ORDER BY e.id", [chat_id])
