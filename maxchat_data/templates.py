"""M1-M2, T5: template messages. WhatsApp templates wait for Meta's review
(Pending until the channel says Accepted or Rejected); other channels accept
on save."""
from __future__ import annotations

import re

from . import config, i18n
from .common import CHANNELS, acting, record, row
from .errors import NotAllowed, NotFound, ValidationError
from .i18n import N_, _, english, ngettext
from .store import Store, Writer, utcnow

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
LANGUAGES = {"id": N_("Indonesian"), "en": N_("English"), "en_US": N_("English (US)"), "ms": N_("Malay")}  # shown with _()
STATUSES = (N_("Pending"), N_("Accepted"), N_("Rejected"))  # stored as is; shown with _()


def language_name(code: str) -> str:
    """A template's language as the reader says it (``Indonesia``); a code
    the app does not know, as it is."""
    return _(LANGUAGES[code]) if code in LANGUAGES else code


_VARIABLE = re.compile(r"\{\{\s*(\d+)\s*\}\}")
_NAME = re.compile(r"^[a-z0-9_]{1,512}$")


def variables_in(body: str) -> int:
    """How many ``{{n}}`` values a body needs; they must be 1..n without gaps."""
    numbers = sorted({int(n) for n in _VARIABLE.findall(body)})
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValidationError(_("Variables must be numbered {{1}}, {{2}}, … without gaps."))
    return len(numbers)


def render(body: str, variables: int, values: list[str]) -> str:
    if len(values) != variables:
        raise ValidationError(ngettext("This template needs {count} value, got {got}.",
                                       "This template needs {count} values, got {got}.", variables)
                              .format(count=variables, got=len(values)))
    for i, value in enumerate(values, 1):
        if not value.strip():
            raise ValidationError(_("Fill in value {variable}.").format(variable="{{" + str(i) + "}}"))
    return _VARIABLE.sub(lambda m: values[int(m.group(1)) - 1], body)


MANAGE_REFUSAL = N_("Only an admin can manage templates.")


def new_template(*, channel: str, name: str, language: str, category: str, body: str,
                 initiate: bool = False) -> dict:
    """A checked template, as ``insert_template`` stores it: WhatsApp's wait
    for the review (Pending), the others' are Accepted on save."""
    name, body = (name or "").strip().lower(), (body or "").strip()
    if channel not in CHANNELS:
        raise ValidationError(_("Unknown channel {channel!r}.").format(channel=channel))
    if not _NAME.match(name):
        raise ValidationError(_("A template name uses lower-case letters, digits and underscores only."))
    if language not in LANGUAGES:
        raise ValidationError(_("Unknown language {language!r}.").format(language=language))
    if category not in CATEGORIES:
        raise ValidationError(_("Category must be one of {categories}.").format(categories=", ".join(CATEGORIES)))
    if not body or len(body) > 1024:
        raise ValidationError(_("A template body needs 1 to {limit} characters.").format(limit=i18n.number(1024)))
    return {"channel": channel, "name": name, "language": language, "category": category, "body": body,
            "variables": variables_in(body), "status": "Pending" if channel == "whatsapp" else "Accepted",
            "initiate": bool(initiate)}


def create_template(store: Store, actor_id: int, *, channel: str, name: str, language: str,
                    category: str, body: str, initiate: bool = False) -> int:
    """M1: an admin creates a template."""
    template = new_template(channel=channel, name=name, language=language, category=category, body=body,
                            initiate=initiate)
    return store.write(_create, actor_id, template)


def _create(w: Writer, actor_id, template):
    acting(w, actor_id, "admin", MANAGE_REFUSAL)
    return insert_template(w, template, actor_id)


def insert_template(w: Writer, t: dict, actor_id: int | None) -> int:
    """Writer side of creating a template (an admin's, or system-side: ``system.create_template``)."""
    if w.one("SELECT 1 FROM templates WHERE channel = ? AND name = ? AND language = ?",
             [t["channel"], t["name"], t["language"]]):
        raise ValidationError(_("A template {name} ({language}) already exists on this channel.")
                              .format(name=t["name"], language=t["language"]))
    template_id = w.ids.next("templates")
    now = utcnow()
    w.execute("INSERT INTO templates (id, channel, name, language, category, body, variables, status, initiate,"
              " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              [template_id, t["channel"], t["name"], t["language"], t["category"], t["body"], t["variables"],
               t["status"], t["initiate"], actor_id, now])
    record(w, None, actor_id, "template_created", f"{t['channel']}:{t['name']}:{t['language']} {t['status']}", now)
    if t["status"] == "Pending":
        w.touch("fetch")  # the channel worker submits it for review
    return template_id


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise ValidationError(_("Status must be one of {statuses}.").format(statuses=", ".join(_(s) for s in STATUSES)))
    return status


def set_status(store: Store, template_id: int, status: str, reason: str | None = None, *, actor_id: int) -> None:
    """M2 by hand: an admin sets a status where no review gives one
    (``status_set_by_hand``: not on WhatsApp, unless in demo mode)."""
    store.write(_set_by_hand, actor_id, template_id, check_status(status), reason, config.flag("MAXCHAT_DEMO"))


def _set_by_hand(w: Writer, actor_id, template_id, status, reason, demo):
    acting(w, actor_id, "admin", MANAGE_REFUSAL)
    tpl = _template(w, template_id)
    if not status_set_by_hand(tpl["channel"], demo):
        raise NotAllowed(_("The status of the WhatsApp template {name} comes from WhatsApp's review: "
                           "it cannot be set by hand.").format(name=tpl["name"]))
    record_review(w, template_id, status, reason, actor_id)


def _template(w: Writer, template_id: int) -> dict:
    tpl = row(w, "SELECT channel, name FROM templates WHERE id = ?", [template_id])
    if tpl is None:
        raise NotFound(_("Template {id} does not exist.").format(id=template_id))
    return tpl


# WhatsApp's review words -> ours; anything else (PENDING, PAUSED …) waits.
# "Deleted" is not a status: a template deleted on WhatsApp keeps its last
# status and gets ``deleted_at`` (see record_review), so it is never offered again.
PROVIDER_VERDICTS = {"APPROVED": "Accepted", "REINSTATED": "Accepted", "REJECTED": "Rejected",
                     "DISABLED": "Rejected", "DELETED": "Deleted", "PENDING_DELETION": "Deleted"}


def verdict_of(provider_status: str) -> str:
    return PROVIDER_VERDICTS.get((provider_status or "").upper(), "Pending")


def record_review(w: Writer, template_id, status, reason, actor_id: int | None = None):
    """Writer side of a verdict: WhatsApp's review (webhook, submitter, sync),
    or an admin's by hand (``set_status``, who already passed the check)."""
    _template(w, template_id)
    if status == "Deleted":
        w.execute("UPDATE templates SET deleted_at = coalesce(deleted_at, ?) WHERE id = ?", [utcnow(), template_id])
    else:
        w.execute("UPDATE templates SET status = ?, status_reason = ?, deleted_at = NULL WHERE id = ?",
                  [status, reason, template_id])
    record(w, None, actor_id, "template_status", f"template {template_id} -> {status} {english(reason) or ''}", utcnow())


def set_initiate(store: Store, template_id: int, initiate: bool, *, actor_id: int) -> None:
    """M1: an admin turns `Set as Initiate Message` on or off."""
    store.write(_set_initiate, actor_id, template_id, bool(initiate))


def _set_initiate(w: Writer, actor_id, template_id, initiate):
    acting(w, actor_id, "admin", MANAGE_REFUSAL)
    _template(w, template_id)
    w.execute("UPDATE templates SET initiate = ? WHERE id = ?", [initiate, template_id])
    record(w, None, actor_id, "template_initiate", f"template {template_id} initiate={initiate}", utcnow())


def list_templates(store: Store, channel: str | None = None) -> list[dict]:
    where, params = ("WHERE channel = ?", [channel]) if channel else ("", [])
    return store.dicts(f"SELECT * FROM templates {where} ORDER BY channel, name, language", params)


def initiate_templates(store: Store, channel: str) -> list[dict]:
    """T5: what the Send Template pop-up offers: Accepted and Set as Initiate
    Message, for the chat's channel."""
    return store.dicts("SELECT * FROM templates WHERE channel = ? AND status = 'Accepted' AND initiate"
                       " AND deleted_at IS NULL ORDER BY name, language", [channel])


def usable_template(w: Writer, template_id: int, channel: str) -> dict:
    tpl = row(w, "SELECT * FROM templates WHERE id = ?", [template_id])
    if tpl is None:
        raise NotFound(_("Template {id} does not exist.").format(id=template_id))
    if tpl["channel"] != channel:
        raise NotAllowed(_("Template {name} is not for this channel.").format(name=tpl["name"]))
    if tpl["deleted_at"] is not None:
        raise NotAllowed(_("Template {name} was deleted on WhatsApp: it can no longer be sent.").format(name=tpl["name"]))
    if tpl["status"] != "Accepted":
        raise NotAllowed(_("Template {name} is {status}: only Accepted templates can be sent.")
                         .format(name=tpl["name"], status=_(tpl["status"])))
    if not tpl["initiate"]:
        raise NotAllowed(_("Template {name} is not set as an initiate message.").format(name=tpl["name"]))
    return tpl


def status_set_by_hand(channel: str, demo: bool) -> bool:
    """M2: a WhatsApp template's status is the one Meta's review gives
    (synchronised); an admin sets a status by hand only on the other
    channels, or on any channel in demo mode (no real review there)."""
    return channel != "whatsapp" or demo
