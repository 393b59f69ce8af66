"""N2: a broadcast sends one initiate template to many contacts, chosen by
label, by channel, or from an uploaded CSV of numbers and values.

Each recipient gets a message in their own chat, written with its outbox
row like any send, so the delivery lanes, the steps and the at-most-once
rule apply as they are. Where the chat is new or Resolved a `Business
initiate` session opens (the chat Open, held by the BOT until someone
answers the reply); an active chat keeps its session and assignee. Blocked
contacts are skipped and counted. The whole audience is written in a few
set-based statements in one transaction, however many recipients.

The delivery lane paces a broadcast's outbox rows at its rate, after
agents' replies (``server/broadcaster.py``); pausing stops the pacing,
cancelling ends the rows not yet sent. Broadcasts go out on WhatsApp only:
Messenger and Telegram do not let a business write first."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import config, i18n, outbox
from .common import acting, contact_name, message_preview, record, search_key
from .errors import NotAllowed, NotFound, ValidationError
from .i18n import N_, _, later, ngettext
from .new_chat import CANNOT_WRITE_FIRST, normalize_number
from .store import Store, Writer, utcnow
from .templates import render, usable_template

CHANNEL = "whatsapp"
MAX_RATE = 1000.0         # WhatsApp's highest throughput tier, messages per second
CSV_LIMIT = 1024 * 1024   # bytes: the upload cap of the whole app (1 MB, about 25,000 numbers)
PREVIEW_ROWS = 5           # recipients whose message is shown before sending
NAME_TOKEN = "{{contact.name}}"  # a value replaced by each recipient's name (as in quick replies)
# Stored on each message left out (with _()): in the language of whoever cancelled.
CANCELLED = N_("Not sent: the broadcast was cancelled")
STATES = {"running": N_("Sending"), "paused": N_("Paused"), "cancelled": N_("Cancelled")}  # shown with _()
AUDIENCES = {"label": N_("Contacts with a label"), "channel": N_("Every WhatsApp contact"),
             "csv": N_("Numbers from a CSV file")}  # Audience.kind -> shown with _()
# A recipient's status as progress() counts it -> shown with _()
RECIPIENT_STATUSES = {"queued": N_("Queued"), "sent": N_("Sent"), "delivered": N_("Delivered"), "read": N_("Read"),
                      "failed": N_("Failed")}


def default_rate() -> float:
    """MAXCHAT_BROADCAST_RATE, messages per second (default 20)."""
    return check_rate(config.number("MAXCHAT_BROADCAST_RATE", "20", "messages per second"))


def check_rate(rate: float) -> float:
    if not 0.1 <= rate <= MAX_RATE:
        raise ValidationError(_("The rate must be between {low} and {high} messages per second.")
                              .format(low=i18n.number(0.1), high=i18n.number(MAX_RATE)))
    return float(rate)


# ---- the CSV ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CsvRow:
    line: int
    number: str          # E.164
    name: str
    values: list[str]


@dataclass
class CsvFile:
    rows: list[CsvRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def csv_columns(variables: int) -> list[str]:
    """The header a CSV for a template with ``variables`` values must have
    (``name`` may be left out)."""
    return ["phone", "name"] + [f"var{i}" for i in range(1, variables + 1)]


def csv_mapping(variables: int) -> list[dict]:
    """What each column of the CSV becomes, for the person to check before
    sending: the number, the contact's name, and the template variable each
    ``varN`` fills."""
    return ([{"Column": "phone", "Becomes": _("the WhatsApp number the message goes to")},
             {"Column": "name", "Becomes": _("the contact's name in the inbox, for a number not yet in it "
                                             "(not part of the message; may be left out)")}]
            + [{"Column": f"var{i}", "Becomes": _("{variable} in the message").format(variable=f"{{{{{i}}}}}")}
               for i in range(1, variables + 1)])


def read_csv(data: bytes, variables: int) -> CsvFile:
    """The rows of an uploaded CSV, and every bad row with its line number and
    why. A file that cannot be read at all (too large, not UTF-8, a wrong
    header, no rows) is refused as a whole with a ValidationError."""
    if len(data) > CSV_LIMIT:
        raise ValidationError(_("The file is {size} MB: a CSV can be at most {limit} MB (split it into several"
                                " broadcasts).").format(size=i18n.number(len(data) / 1024 / 1024, 1),
                                                        limit=i18n.number(CSV_LIMIT // 1024 // 1024)))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValidationError(_("The file is not UTF-8 text (line {line}): save it as 'CSV UTF-8' and upload it"
                                " again.").format(line=line)) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    full = csv_columns(variables)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError(_("The file is empty.")) from None
    except csv.Error as exc:
        raise ValidationError(_("Line {line} is not CSV: {error}.").format(line=1, error=exc)) from None
    header = [h.strip().lower() for h in header]
    without_name = [c for c in full if c != "name"]
    if header not in (full, without_name):
        raise ValidationError(_("The first line must name the columns {columns} (name may be left out) for this"
                                " template; it is {header!r}.").format(columns=",".join(full),
                                                                      header=",".join(header)[:200]))
    has_name = header == full
    out, seen = CsvFile(), {}
    try:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue  # a blank line
            if len(fields) != len(header):
                out.errors.append((line, _("{count} values where the header has {columns}")
                                           .format(count=len(fields), columns=len(header))))
                continue
            cells = dict(zip(header, (f.strip() for f in fields)))
            try:
                number = normalize_number(cells["phone"])
            except ValidationError as exc:
                out.errors.append((line, str(exc)))
                continue
            if number in seen:
                out.errors.append((line, _("{number} is already on line {line}").format(number=number, line=seen[number])))
                continue
            values = [cells[f"var{i}"] for i in range(1, variables + 1)]
            empty = [f"var{i}" for i, v in enumerate(values, 1) if not v]
            if empty:
                out.errors.append((line, ngettext("{columns} is empty", "{columns} are empty", len(empty))
                                   .format(columns=", ".join(empty))))
                continue
            seen[number] = line
            out.rows.append(CsvRow(line, number, contact_name(cells.get("name")) if has_name else "", values))
    except csv.Error as exc:
        raise ValidationError(_("Line {line} is not CSV: {error}.").format(line=reader.line_num, error=exc)) from None
    return out


# ---- creating one ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Audience:
    """Who a broadcast goes to: every WhatsApp contact (``channel``), those
    with any of ``label_ids`` (``label``), or the rows of a CSV (``csv``)."""
    kind: str
    label_ids: tuple[int, ...] = ()
    rows: tuple[CsvRow, ...] = ()


def create(store: Store, actor_id: int, template_id: int, audience: Audience, values: list[str] = (),
           rate: float | None = None) -> int:
    """Queue the broadcast; returns its id. ``values`` fill the template for a
    label or channel audience (``{{contact.name}}`` becomes each name); a CSV
    brings its own. Nothing is written when anything is wrong."""
    rate = default_rate() if rate is None else check_rate(float(rate))
    if audience.kind not in ("channel", "label", "csv"):
        raise ValidationError(_("Choose who receives it: a label, the channel, or a CSV file."))
    if audience.kind == "label" and not audience.label_ids:
        raise ValidationError(_("Choose at least one label."))
    if audience.kind == "csv" and not audience.rows:
        raise ValidationError(_("The CSV has no row that can be sent: nothing to send."))
    return store.write(_create, actor_id, template_id, audience, [str(v).strip() for v in values], rate)


def preview(store: Store, actor_id: int, template_id: int, audience: Audience, values: list[str] = ()) -> dict:
    """What a broadcast would do, without doing it: how many recipients,
    how many blocked contacts are skipped, and the first recipients
    (``first``: line, to, name, the values and the message exactly as it
    is sent), with ``variables``, the name of each value (``{{1}} ← var1``
    for a CSV). Writes
    nothing; it runs on the writer to see the chats as ``create`` will."""
    with_values = [str(v).strip() for v in values]
    return store.write(_plan_only, actor_id, template_id, audience, with_values)


def _plan_only(w: Writer, actor_id, template_id, audience, values):
    acting(w, actor_id, "broadcast", N_("Only supervisors and admins can send broadcasts."))
    tpl = _template(w, template_id)
    targets, skipped = _targets(w, tpl, audience, values)
    return {"recipients": len(targets), "skipped_blocked": skipped,
            "variables": [f"{{{{{i}}}}} ← var{i}" if audience.kind == "csv" else f"{{{{{i}}}}}"
                          for i in range(1, tpl["variables"] + 1)],
            "first": [{"line": t["line"], "to": "+" + t["uid"], "name": t["name"], "values": list(t["values"]),
                       "message": t["body"]} for t in targets[:PREVIEW_ROWS]]}


def _template(w: Writer, template_id: int) -> dict:
    found = w.one("SELECT channel FROM templates WHERE id = ?", [template_id])
    if found is None:
        raise NotFound(_("Template {id} does not exist.").format(id=template_id))
    if found[0] != CHANNEL:
        raise NotAllowed(_(CANNOT_WRITE_FIRST))
    return usable_template(w, template_id, CHANNEL)


def _targets(w: Writer, tpl: dict, audience: Audience, values: list[str]) -> tuple[list[dict], int]:
    """Every recipient with its rendered message (blocked contacts left out,
    and counted). A new CSV number has ``chat`` None."""
    if audience.kind == "csv":
        keys = w.chat_ids((CHANNEL, r.number[1:]) for r in audience.rows)
        chats = _chats(w, "id = ANY(?::BIGINT[])", [list(keys.values())]) if keys else []
        by_uid = {c["uid"]: c for c in chats}
        wanted = []
        for r in audience.rows:
            chat = by_uid.get(r.number[1:]) or {"chat": None, "uid": r.number[1:], "blocked": False,
                                                "name": r.name or r.number, "status": "Open", "session": None}
            wanted.append({**chat, "values": r.values, "line": r.line})
    else:
        # The values first: a missing one is the message, whoever the audience.
        render(tpl["body"], tpl["variables"], ["name" if v == NAME_TOKEN else v for v in values])
        if audience.kind == "label":
            chats = _chats(w, *w.engine.has_labels(audience.label_ids))
        else:
            chats = _chats(w, "TRUE", None)
        wanted = [{**c, "values": [c["name"] if v == NAME_TOKEN else v for v in values], "line": None}
                  for c in chats]
    targets = [t for t in wanted if not t["blocked"]]
    if not targets:
        raise ValidationError(_("No one to send to: all {count} are blocked contacts.").format(count=len(wanted))
                              if wanted else _("No one to send to: no WhatsApp contact matches this choice."))
    for t in targets:
        t["body"] = render(tpl["body"], tpl["variables"], t["values"])  # a missing value: refused here
    return targets, len(wanted) - len(targets)


def _joined(values: list[str] | None) -> str | None:
    """One recipient's template values as one text (unit separators between):
    a list per row cannot ride in one array parameter on PostgreSQL."""
    return chr(31).join(v.replace(chr(31), " ") for v in values) if values else None


def _chats(w: Writer, where: str, params) -> list[dict]:
    rows = w.all(f"SELECT id, channel_user_id, blocked, contact_name, status, session_id FROM chats"
                 f" WHERE channel = '{CHANNEL}' AND {where} ORDER BY id", params)
    return [{"chat": i, "uid": u, "blocked": b, "name": n, "status": s, "session": sid}
            for i, u, b, n, s, sid in rows]


def _create(w: Writer, actor_id, template_id, audience: Audience, values, rate):
    agent = acting(w, actor_id, "broadcast", N_("Only supervisors and admins can send broadcasts."))
    tpl = _template(w, template_id)
    targets, skipped = _targets(w, tpl, audience, values)
    now = utcnow()
    broadcast_id = w.ids.next("broadcasts")
    who = agent["display_name"]

    # New numbers: a contact and a chat each.
    fresh = [t for t in targets if t["chat"] is None]
    if fresh:
        contacts, chats = w.ids.take("contacts", len(fresh)), w.ids.take("chats", len(fresh))
        for t, contact_id, chat_id in zip(fresh, contacts, chats):
            t["chat"], t["contact"] = chat_id, contact_id
            w.add_chat_key((CHANNEL, t["uid"]), chat_id)
        w.execute("INSERT INTO contacts (id, name, phone, created_at)"
                  " SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ?",
                  [list(contacts), [t["name"] for t in fresh], ["+" + t["uid"] for t in fresh], now])
        w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                  " created_at) SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), ?, unnest(?::VARCHAR[]),"
                  " unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), 'Open', ?",
                  [list(chats), list(contacts), CHANNEL, [t["uid"] for t in fresh], [t["name"] for t in fresh],
                   [search_key(t["name"]) for t in fresh], now])
        w.chats_changed(chats)

    # A Business initiate session where the chat is new or Resolved (C2).
    opening = [t for t in targets if t["session"] is None or t["status"] == "Resolved"]
    if opening:
        for t, session_id in zip(opening, w.ids.take("sessions", len(opening))):
            t["session"] = session_id
        w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at)"
                  " SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), 'Business initiate', ?",
                  [[t["session"] for t in opening], [t["chat"] for t in opening], now])
        line = later._("{who} started a session (Business initiate) with broadcast #{broadcast}", who=who,
                       broadcast=str(broadcast_id))
        w.execute("INSERT INTO events SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), ?, 'session_started', ?, ?",
                  [list(w.ids.take("events", len(opening))), [t["chat"] for t in opening], actor_id,
                   f"Business initiate (broadcast {broadcast_id})", now])
        w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, sender_agent_id, kind, body,"
                  " status, sent_at, created_at) SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]),"
                  " ?, 'activity', ?,"
                  " 'activity', ?, 'received', ?, ?",
                  [list(w.ids.take("messages", len(opening))), [t["chat"] for t in opening],
                   [t["session"] for t in opening], CHANNEL, actor_id, line, now, now])

    # The messages, their outbox rows (paced by the lane) and the recipient list.
    message_ids = list(w.ids.take("messages", len(targets)))
    w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, sender_agent_id, kind, body,"
              " template_id, template_params, status, sent_at, created_at)"
              " SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), ?, 'out', ?, 'template',"
              " unnest(?::VARCHAR[]), ?, string_to_array(unnest(?::VARCHAR[]), chr(31)), 'pending', ?, ?",
              [message_ids, [t["chat"] for t in targets], [t["session"] for t in targets], CHANNEL, actor_id,
               [t["body"] for t in targets], template_id, [_joined(t["values"]) for t in targets], now, now])
    w.execute("INSERT INTO outbox (message_id, next_attempt_at, broadcast_id) SELECT unnest(?::BIGINT[]), ?, ?",
              [message_ids, now, broadcast_id])
    w.execute("INSERT INTO broadcast_recipients SELECT ?, unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::INTEGER[])",
              [broadcast_id, message_ids, [t["chat"] for t in targets], [t["line"] for t in targets]])
    # What the chat list shows; a reopened chat is Open and held by the BOT.
    w.execute("UPDATE chats SET last_message_at = ?, last_preview = b.preview, last_direction = 'out',"
              " status = CASE WHEN b.reopen THEN 'Open' ELSE chats.status END,"
              " assignee_id = CASE WHEN b.reopen THEN NULL ELSE chats.assignee_id END,"
              " session_id = b.session"
              " FROM (SELECT unnest(?::BIGINT[]) AS id, unnest(?::VARCHAR[]) AS preview, unnest(?::BOOLEAN[]) AS reopen,"
              " unnest(?::BIGINT[]) AS session) b"
              " WHERE chats.id = b.id",
              [now, [t["chat"] for t in targets], [message_preview("template", t["body"], None) for t in targets],
               [t["status"] == "Resolved" for t in targets], [t["session"] for t in targets]])
    w.chats_changed(t["chat"] for t in targets if t["status"] == "Resolved")
    w.execute("INSERT INTO broadcasts (id, template_id, channel, audience, rate, state, total, skipped_blocked,"
              " created_by, created_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
              [broadcast_id, template_id, CHANNEL, _describe(w, audience), rate, len(targets), skipped, actor_id,
               now])
    record(w, None, actor_id, "broadcast_created",
           f"broadcast {broadcast_id}: {tpl['name']} to {len(targets)} ({skipped} blocked skipped)", now)
    w.touch("outbox")
    return broadcast_id


def _describe(w: Writer, audience: Audience) -> str:
    """Who it went to, in words: stored in the language of whoever sent it."""
    if audience.kind == "csv":
        return _("CSV file, {count} numbers").format(count=i18n.number(len(audience.rows)))
    if audience.kind == "channel":
        return _(AUDIENCES["channel"])
    names = [n for (n,) in w.all("SELECT name FROM labels WHERE id = ANY(?::INTEGER[]) ORDER BY name",
                                 [list(audience.label_ids)])]
    return _("Label {names}").format(names=", ".join(names))


# ---- pause, resume, cancel ---------------------------------------------------------------------
def pause(store: Store, broadcast_id: int, actor_id: int) -> None:
    store.write(_change, broadcast_id, actor_id, "pause")


def resume(store: Store, broadcast_id: int, actor_id: int) -> None:
    store.write(_change, broadcast_id, actor_id, "resume")


def cancel(store: Store, broadcast_id: int, actor_id: int) -> int:
    """Ends every recipient not yet sent as failed (cancelled); returns how many."""
    return store.write(_change, broadcast_id, actor_id, "cancel")


_FROM = {"pause": ("running",), "resume": ("paused",), "cancel": ("running", "paused")}
_CANNOT = {  # the refusal when a broadcast is in no state to be changed so
    "pause": N_("This broadcast is {state}: it cannot be paused."),
    "resume": N_("This broadcast is {state}: it cannot be resumed."),
    "cancel": N_("This broadcast is {state}: it cannot be cancelled."),
}


def _change(w: Writer, broadcast_id, actor_id, what):
    acting(w, actor_id, "broadcast", N_("Only supervisors and admins can change broadcasts."))
    found = w.one("SELECT state FROM broadcasts WHERE id = ?", [broadcast_id])
    if found is None:
        raise NotFound(_("Broadcast {id} does not exist.").format(id=broadcast_id))
    if found[0] not in _FROM[what]:
        raise NotAllowed(_(_CANNOT[what]).format(state=_(STATES[found[0]]).lower()))
    now = utcnow()
    ended = 0
    if what == "cancel":
        # Only rows not on the wire (waiting, or claimed by a lane that has not
        # called yet): one in flight ("sending") ends as its call ends.
        (ended,) = w.one("SELECT count(*) FROM outbox WHERE broadcast_id = ? AND state IN ('queued', 'claimed')",
                         [broadcast_id])
        w.execute("UPDATE messages SET status = 'failed', error = ? WHERE id IN"
                  " (SELECT message_id FROM outbox WHERE broadcast_id = ? AND state IN ('queued', 'claimed'))",
                  [later._(CANCELLED), broadcast_id])
        w.execute("DELETE FROM outbox WHERE broadcast_id = ? AND state IN ('queued', 'claimed')", [broadcast_id])
        w.execute("UPDATE broadcasts SET state = 'cancelled', ended_at = ? WHERE id = ?", [now, broadcast_id])
    else:
        w.execute("UPDATE broadcasts SET state = ? WHERE id = ?",
                  ["paused" if what == "pause" else "running", broadcast_id])
        w.touch("outbox")
    record(w, None, actor_id, f"broadcast_{what}", f"broadcast {broadcast_id}", now)
    return ended


# ---- pacing (server/broadcaster.py) --------------------------------------------------------
BURST_SECONDS = 0.25  # a broadcast may send a quarter of a second of messages at once (at least one)


def claim(store: Store, sender: str, broadcast_id: int, message_ids: list[int]) -> tuple[list[int], float]:
    """Take as many of these due rows as the broadcast's pace allows now, for
    ``sender`` alone (outbox.claim); returns (the ids taken, seconds until
    the next may go).

    The pace is kept in the database (``paced_until``: when the next message
    may go, a token bucket as one timestamp), so the rate is per broadcast
    whatever number of replicas send it."""
    return store.write(_claim, sender, broadcast_id, message_ids)


def _claim(w: Writer, sender, broadcast_id, message_ids):
    found = w.one("SELECT rate, paced_until FROM broadcasts WHERE id = ? AND state = 'running'"
                  + w.engine.lock(), [broadcast_id])
    if found is None:
        return [], 1.0
    rate, paced_until = found
    now = utcnow()
    step = 1.0 / rate
    start = max(paced_until or now, now)
    room = int(((now - start).total_seconds() + max(1.0, rate * BURST_SECONDS) * step) / step + 1e-9)
    taken = []
    if room > 0 and message_ids:
        taken = sorted(outbox.claim_rows(
            w, sender, "o.message_id = ANY(?::BIGINT[]) AND o.broadcast_id = ? AND o.state = 'queued'"
            " AND o.next_attempt_at <= ?", [message_ids, broadcast_id, now], room))
        if taken:
            start += timedelta(seconds=len(taken) * step)
            w.execute("UPDATE broadcasts SET paced_until = ? WHERE id = ?", [start, broadcast_id])
    # The next one may go when the bucket holds one token again.
    wait = (start - now).total_seconds() - (max(1.0, rate * BURST_SECONDS) - 1) * step
    return taken, max(0.0, wait)


def hold(store: Store, broadcast_id: int, until: datetime) -> None:
    """A send was told to wait: the whole broadcast waits, at every replica
    (the rows this lane took wait too: outbox.hold)."""
    store.write(_hold, broadcast_id, until)


def _hold(w: Writer, broadcast_id, until):
    w.execute("UPDATE broadcasts SET paced_until = greatest(coalesce(paced_until, ?), ?) WHERE id = ?",
              [until, until, broadcast_id])


# ---- reading ---------------------------------------------------------------------------------
_COUNTED = {"pending": "queued", "sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}


def progress(store: Store, broadcast_id: int) -> dict:
    """Counts by recipient status (queued, sent, delivered, read, failed), the
    state in words, and ``done`` (out of the queue: finished or cancelled)."""
    found = store.dicts("SELECT b.*, t.name AS template_name, a.display_name AS created_by_name FROM broadcasts b"
                        " LEFT JOIN templates t ON t.id = b.template_id LEFT JOIN agents a ON a.id = b.created_by"
                        " WHERE b.id = ?", [broadcast_id])
    if not found:
        raise NotFound(_("Broadcast {id} does not exist.").format(id=broadcast_id))
    out = found[0]
    counts = dict.fromkeys(_COUNTED.values(), 0)
    for status, n in store.all("SELECT m.status, count(*) FROM broadcast_recipients r JOIN messages m"
                               " ON m.id = r.message_id WHERE r.broadcast_id = ? GROUP BY 1", [broadcast_id]):
        counts[_COUNTED.get(status, "queued")] += n
    (waiting,) = store.one("SELECT count(*) FROM outbox WHERE broadcast_id = ? AND state <> 'failed'", [broadcast_id])
    out["counts"] = counts
    out["done"] = out["state"] == "cancelled" or waiting == 0
    out["state_label"] = _("Finished") if out["state"] == "running" and waiting == 0 else _(STATES[out["state"]])
    out["handled"] = out["total"] - counts["queued"]
    return out


def recipients(store: Store, broadcast_id: int, status: str | None = None, limit: int = 200,
               offset: int = 0) -> list[dict]:
    """Per recipient: number, name, status (queued, sent, delivered, read,
    failed) and the reason of a failure, in the order they were queued."""
    raw = {v: k for k, v in _COUNTED.items()}.get(status) if status else None
    rows = store.dicts(
        "SELECT r.line, '+' || c.channel_user_id AS number, c.contact_name AS name, m.status, m.error,"
        " r.chat_id FROM broadcast_recipients r JOIN messages m ON m.id = r.message_id JOIN chats c ON c.id = r.chat_id"
        " WHERE r.broadcast_id = ? AND (?::VARCHAR IS NULL OR m.status = ?) ORDER BY r.message_id LIMIT ? OFFSET ?",
        [broadcast_id, raw, raw, limit, offset])
    for r in rows:
        r["status"] = _COUNTED.get(r["status"], "queued")
        r["error"] = i18n.shown(r["error"])  # stored as i18n.later says: in the reader's language
    return rows


def list_broadcasts(store: Store, limit: int = 50) -> list[dict]:
    return store.dicts("SELECT b.id, b.created_at, b.audience, b.total, b.skipped_blocked, b.state, b.rate,"
                       " t.name AS template_name, a.display_name AS created_by_name FROM broadcasts b"
                       " LEFT JOIN templates t ON t.id = b.template_id LEFT JOIN agents a ON a.id = b.created_by"
                       " ORDER BY b.id DESC LIMIT ?", [limit])


def running(store: Store, channel: str) -> list[dict]:
    """For the channel's lane: broadcasts with rows waiting, their rate and
    when their earliest row comes due."""
    return store.dicts("SELECT b.id, b.rate, min(o.next_attempt_at) AS next_at FROM broadcasts b"
                       " JOIN outbox o ON o.broadcast_id = b.id WHERE b.state = 'running' AND b.channel = ?"
                       " AND o.state = 'queued' GROUP BY b.id, b.rate ORDER BY b.id", [channel])
