"""What the Chat page reads: the inbox finder (L1-L5), one chat with its
profile, the thread (T1), and new inbound messages for notifications (L7).

The finder follows Chatwoot's ConversationFinder: one request (tab, statuses,
labels, channels, name search, page) becomes one page query plus one count
query over the same filters, both reading only the ``chats`` table."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import team
from .common import CHANNELS, STATUSES, TABS, details_of, search_key
from .errors import NotAllowed, NotFound, ValidationError
from .i18n import _
from .store import Store, in_list
from .window import reply_window

PAGE_SIZE = 30
TABS_FOR_OWN_ONLY = ("My Chat", "Unassigned")

_TAB_WHERE = {
    "My Chat": "NOT archived AND assignee_id = $agent",
    "All": "NOT archived",
    "Unassigned": "NOT archived AND assignee_id IS NULL",
    "Archived": "archived",
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


def find_chats(store: Store, agent_id: int | None, query: InboxQuery) -> InboxPage:
    query.check()
    version = store.version  # read first: a change after this shows next poll
    where, params = ["TRUE"], {"agent": agent_id if agent_id is not None else -1}
    if team.sees_only_own(store, agent_id):
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
    if query.label_ids:
        labels = {f"label{i}": int(x) for i, x in enumerate(query.label_ids)}
        where.append(store.engine.has_any("label_ids", list(labels)))
        params.update(labels)
    needle = search_key(query.search.strip())
    if needle:
        where.append("strpos(search_name, $needle) > 0")
        params["needle"] = needle
    filters = " AND ".join(where)
    counts_sql = ("SELECT " + ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in _TAB_WHERE.values())
                  + f" FROM chats WHERE {filters}")
    # Order and cut on narrow columns first, then fetch the 30 wide rows:
    # sorting whole rows (previews, label lists) costs 3x more.
    page_sql = (
        "WITH page AS (SELECT id, last_message_at FROM chats WHERE " + filters + " AND " + _TAB_WHERE[query.tab] +
        " ORDER BY last_message_at DESC NULLS LAST, id DESC LIMIT $limit OFFSET $offset)"
        " SELECT c.id, c.contact_id, c.channel, c.contact_name, c.status, c.assignee_id, a.display_name AS assignee,"
        " c.archived, c.blocked, c.label_ids, c.unread, c.last_message_at, c.last_preview, c.last_direction,"
        " c.last_inbound_at FROM page JOIN chats c ON c.id = page.id"
        " LEFT JOIN agents a ON a.id = c.assignee_id ORDER BY page.last_message_at DESC NULLS LAST, page.id DESC")
    cur = store.cursor()
    try:
        count_params = {k: v for k, v in params.items() if re.search(rf"\${k}\b", counts_sql)}
        counts = dict(zip(TABS, cur.execute(counts_sql, count_params).fetchone()))
        rel = cur.execute(page_sql, {**{k: v for k, v in params.items() if re.search(rf"\${k}\b", page_sql)},
                                     "limit": query.page_size, "offset": (query.page - 1) * query.page_size})
        cols = [d[0] for d in rel.description]
        chats = [dict(zip(cols, r)) for r in rel.fetchall()]
    finally:
        cur.close()
    total = counts[query.tab]
    return InboxPage(chats, counts, total, query.page, max(1, -(-total // query.page_size)), version, query)


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
