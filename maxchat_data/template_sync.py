"""N3, M2: the store's WhatsApp templates follow the account's. A sync lists
every template of the WhatsApp Business Account (``Client.list_templates``,
all pages) and brings name, language, category, body, variables, status and
rejection reason in; the review webhooks keep them current between syncs.
A template the account no longer has is marked deleted (it stays listed,
since old messages name it, but can no longer be sent). Templates written
here and not yet submitted for review are left alone."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from . import config
from .common import acting, person, record
from .errors import ValidationError
from .i18n import SOURCE, _, later, number, shown, use_for
from .store import Store, Writer, utcnow
from .templates import CATEGORIES, MANAGE_REFUSAL, variables_in, verdict_of

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    # (name, language, why): why stored as i18n.later says, so the result
    # reads in whoever's language shows it (the page, or English in a log).
    skipped: list[tuple[str, str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        """The result in the current language (the Templates page's)."""
        text = _("{added} added, {updated} updated, {deleted} marked deleted on WhatsApp").format(
            added=number(self.added), updated=number(self.updated), deleted=number(self.deleted))
        if self.skipped:
            reasons = "; ".join(f"{name} ({language}): {shown(why)}" for name, language, why in self.skipped[:3])
            text += "; " + _("{count} skipped ({reasons})").format(
                count=number(len(self.skipped)), reasons=reasons + (" …" if len(self.skipped) > 3 else ""))
        return text

    def english(self) -> str:
        """For log lines and the event (operators read English)."""
        with use_for(SOURCE):
            return str(self)


def from_listing(item: dict) -> dict:
    """One listed template in the store's words; ValidationError when it
    cannot be used here (say why)."""
    name, language = str(item.get("name") or ""), str(item.get("language") or "")
    if not name or not language:
        raise ValidationError(later._("no name or language"))
    body = next((str(c.get("text") or "") for c in item.get("components") or []
                 if isinstance(c, dict) and str(c.get("type", "")).upper() == "BODY"), "")
    if not body:
        raise ValidationError(later._("no body text"))
    category = str(item.get("category") or "").upper()
    if category not in CATEGORIES:
        raise ValidationError(later._("category {category}", category=category) if category
                              else later._("category missing"))
    provider_status = str(item.get("status") or "").upper()
    verdict = verdict_of(provider_status)
    reason = item.get("rejected_reason")
    reason = None if reason in (None, "", "NONE") else str(reason)
    if provider_status in ("PAUSED", "DISABLED", "IN_APPEAL", "LIMIT_EXCEEDED"):
        reason = reason or later._("{status} on WhatsApp", status=provider_status.replace("_", " ").title())
    return {"provider_template_id": str(item["id"]) if item.get("id") is not None else None, "name": name,
            "language": language, "category": category, "body": body, "variables": variables_in(body),
            "status": "Accepted" if verdict == "Deleted" else verdict, "deleted": verdict == "Deleted",
            "reason": reason, "provider_status": provider_status}


def sync(store: Store, client, waba_id: str | None = None) -> SyncResult:
    """System-side (the start-up sync): list the account's templates and
    bring them into the store. Provider errors (RetryLater, Permanent) reach
    the caller with their sentence."""
    return _sync(store, client, waba_id, None)


def sync_now(store: Store, actor_id: int, client) -> SyncResult:
    """The Templates page's `Sync`: the same, for an admin only."""
    person(store, actor_id, "admin", MANAGE_REFUSAL)  # before asking WhatsApp
    return _sync(store, client, None, actor_id)


def _sync(store: Store, client, waba_id: str | None, actor_id: int | None) -> SyncResult:
    waba_id = waba_id or config.get("WHATSAPP_WABA_ID")
    if not waba_id:
        raise ValidationError(_("Set {setting} (the WhatsApp Business Account id) to sync templates.")
                              .format(setting="WHATSAPP_WABA_ID"))
    if client.missing:
        raise ValidationError(shown(client.missing))
    listed = client.list_templates(waba_id)
    result, items = SyncResult(), []
    for item in listed:
        try:
            items.append(from_listing(item))
        except ValidationError as exc:
            result.skipped.append((str(item.get("name")), str(item.get("language")), str(exc)))
    return store.write(_apply, items, result, actor_id)


def _apply(w: Writer, items: list[dict], result: SyncResult, actor_id: int | None) -> SyncResult:
    if actor_id is not None:
        acting(w, actor_id, "admin", MANAGE_REFUSAL)
    now = utcnow()
    seen: set[int] = set()
    for t in items:
        found = None
        if t["provider_template_id"]:
            found = w.one("SELECT id FROM templates WHERE channel = 'whatsapp' AND provider_template_id = ?",
                          [t["provider_template_id"]])
        if found is None:
            found = w.one("SELECT id FROM templates WHERE channel = 'whatsapp' AND name = ? AND language = ?",
                          [t["name"], t["language"]])
        deleted_at = now if t["deleted"] else None
        if found is None:
            template_id = w.ids.next("templates")
            w.execute("INSERT INTO templates (id, channel, name, language, category, body, variables, status, initiate,"
                      " provider_template_id, status_reason, created_at, provider_status, synced_at, deleted_at)"
                      " VALUES (?, 'whatsapp', ?, ?, ?, ?, ?, ?, FALSE, ?, ?, ?, ?, ?, ?)",
                      [template_id, t["name"], t["language"], t["category"], t["body"], t["variables"], t["status"],
                       t["provider_template_id"], t["reason"], now, t["provider_status"], now, deleted_at])
            result.added += 1
        else:
            template_id = found[0]
            # `Set as Initiate Message` is ours: a sync keeps it.
            w.execute("UPDATE templates SET name = ?, language = ?, category = ?, body = ?, variables = ?, status = ?,"
                      " provider_template_id = ?, status_reason = ?, provider_status = ?, synced_at = ?,"
                      " deleted_at = CASE WHEN ? THEN coalesce(deleted_at, ?) END WHERE id = ?",
                      [t["name"], t["language"], t["category"], t["body"], t["variables"], t["status"],
                       t["provider_template_id"], t["reason"], t["provider_status"], now, t["deleted"], now,
                       template_id])
            result.updated += 1
        seen.add(template_id)
    # Gone from the account: known to WhatsApp before (an id) or usable here.
    gone = [i for (i,) in w.all(
        "SELECT id FROM templates WHERE channel = 'whatsapp' AND deleted_at IS NULL"
        " AND (provider_template_id IS NOT NULL OR status = 'Accepted') AND id NOT IN (SELECT unnest(?::INTEGER[]))",
        [sorted(seen)])]
    if gone:
        w.execute("UPDATE templates SET deleted_at = ? WHERE id IN (SELECT unnest(?::INTEGER[]))", [now, gone])
        result.deleted = len(gone)
    record(w, None, actor_id, "templates_synced", result.english(), now)
    return result
