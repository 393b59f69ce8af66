"""Q1: quick replies, saved answers an agent inserts by typing ``/shortcut``.
Shared ones are the team's (admins manage them); personal ones are one
agent's own. Two variables are filled in when inserted: ``{{contact.name}}``
and ``{{agent.name}}``."""
from __future__ import annotations

import re

from .common import acting, record
from . import i18n
from .errors import NotAllowed, NotFound, ValidationError
from .i18n import N_, _
from .store import Store, Writer, utcnow

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
VARIABLES = ("contact.name", "agent.name")
BODY_LIMIT = 4096
ADMINS_ONLY = N_("Only an admin can manage shared quick replies.")


def clean_shortcut(raw: str | None) -> str:
    """'/Thanks ' -> 'thanks'; refused unless 2-32 letters, digits, '.', '_', '-'."""
    shortcut = (raw or "").strip().lstrip("/").lower()
    if not SHORTCUT.match(shortcut):
        raise ValidationError(_("A shortcut is '/' and 2 to 32 letters, digits, '.', '_' or '-' (e.g. /thanks)."))
    return shortcut


def clean_body(raw: str | None) -> str:
    body = (raw or "").strip()
    if not body:
        raise ValidationError(_("A quick reply needs its text."))
    if len(body) > BODY_LIMIT:
        raise ValidationError(_("A quick reply can be at most {limit} characters.").format(limit=i18n.number(BODY_LIMIT)))
    for name in VARIABLE.findall(body):
        if name not in VARIABLES:
            raise ValidationError(_("Unknown variable {variable}: use {contact} or {agent}.").format(
                variable="{{" + name + "}}", contact="{{contact.name}}", agent="{{agent.name}}"))
    return body


def fill(body: str, contact_name: str, agent_name: str) -> str:
    """The text that goes into the composer."""
    values = {"contact.name": contact_name or "", "agent.name": agent_name or ""}
    return VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), body)


# ---- reading ---------------------------------------------------------------------
def for_agent(store: Store, agent_id: int) -> list[dict]:
    """What the agent can insert: the shared replies and their own, by shortcut."""
    return store.dicts("SELECT id, shortcut, body, owner_id, owner_id IS NULL AS shared FROM quick_replies"
                       " WHERE owner_id IS NULL OR owner_id = ? ORDER BY shortcut", [agent_id])


def shared(store: Store) -> list[dict]:
    return store.dicts("SELECT id, shortcut, body FROM quick_replies WHERE owner_id IS NULL ORDER BY shortcut")


def personal(store: Store, agent_id: int) -> list[dict]:
    return store.dicts("SELECT id, shortcut, body FROM quick_replies WHERE owner_id = ? ORDER BY shortcut", [agent_id])


def matching(replies: list[dict], typed: str) -> list[dict]:
    """The replies a draft such as '/th' asks for: shortcuts starting with
    what follows the '/' (an exact match first), then the rest whose
    shortcut or text contains it. A draft that is not a lone '/word' asks for none."""
    typed = (typed or "").strip()
    if not typed.startswith("/") or any(c.isspace() for c in typed):
        return []
    needle = typed[1:].lower()
    starts = [r for r in replies if r["shortcut"].startswith(needle)]
    starts.sort(key=lambda r: (r["shortcut"] != needle, r["shortcut"]))
    rest = [r for r in replies if r not in starts and needle and (needle in r["shortcut"] or needle in r["body"].lower())]
    return starts + rest


# ---- managing --------------------------------------------------------------------
def create(store: Store, actor_id: int, shortcut: str, body: str, *, shared: bool = False) -> int:
    """A shared reply (admins) or the actor's own."""
    return store.write(_save, actor_id, None, clean_shortcut(shortcut), clean_body(body), bool(shared))


def update(store: Store, actor_id: int, reply_id: int, shortcut: str, body: str) -> int:
    return store.write(_save, actor_id, reply_id, clean_shortcut(shortcut), clean_body(body), None)


def delete(store: Store, actor_id: int, reply_id: int) -> None:
    store.write(_delete, actor_id, reply_id)


def _owned(w: Writer, actor: dict, reply_id: int) -> tuple:
    found = w.one("SELECT shortcut, owner_id FROM quick_replies WHERE id = ?", [reply_id])
    if found is None:
        raise NotFound(_("Quick reply {id} does not exist.").format(id=reply_id))
    if found[1] is None:
        acting(w, actor["id"], "admin", ADMINS_ONLY)
    if found[1] is not None and found[1] != actor["id"]:
        raise NotAllowed(_("A personal quick reply can be changed only by its owner."))
    return found


def _save(w: Writer, actor_id, reply_id, shortcut, body, is_shared):
    actor = acting(w, actor_id)  # analysts write no replies
    if reply_id is not None:
        is_shared = _owned(w, actor, reply_id)[1] is None
    elif is_shared:
        acting(w, actor_id, "admin", ADMINS_ONLY)
    owner = None if is_shared else actor_id
    # Unique among what anyone may type: no two replies an agent sees share a shortcut.
    for other_owner, name in w.all(
            "SELECT q.owner_id, a.display_name FROM quick_replies q LEFT JOIN agents a ON a.id = q.owner_id"
            " WHERE q.shortcut = ? AND q.id <> ? AND (q.owner_id IS NULL OR ? OR q.owner_id = ?)",
            [shortcut, reply_id or -1, owner is None, owner]):
        if other_owner is None:
            raise ValidationError(_("/{shortcut} is already a shared quick reply: choose another shortcut.")
                                  .format(shortcut=shortcut))
        if other_owner == actor_id:
            raise ValidationError(_("You already have a quick reply /{shortcut}: choose another shortcut.")
                                  .format(shortcut=shortcut))
        raise ValidationError(_("/{shortcut} is already a personal quick reply of {name}: choose another shortcut.")
                              .format(shortcut=shortcut, name=name))
    if reply_id is None:
        return insert(w, shortcut, body, owner, actor_id)
    w.execute("UPDATE quick_replies SET shortcut = ?, body = ? WHERE id = ?", [shortcut, body, reply_id])
    record(w, None, actor_id, "quick_reply_updated", f"{reply_id} /{shortcut}", utcnow())
    return reply_id


def insert(w: Writer, shortcut: str, body: str, owner: int | None, actor_id: int | None) -> int:
    """A checked reply's row (owner None: shared; actor None: the demo seeder)."""
    now = utcnow()
    reply_id = w.ids.next("quick_replies")
    w.execute("INSERT INTO quick_replies VALUES (?, ?, ?, ?, ?, ?)", [reply_id, shortcut, body, owner, actor_id, now])
    record(w, None, actor_id, "quick_reply_created", f"{reply_id} /{shortcut}", now)
    return reply_id


def _delete(w: Writer, actor_id, reply_id):
    actor = acting(w, actor_id)
    shortcut = _owned(w, actor, reply_id)[0]
    w.execute("DELETE FROM quick_replies WHERE id = ?", [reply_id])
    record(w, None, actor_id, "quick_reply_deleted", f"{reply_id} /{shortcut}", utcnow())
