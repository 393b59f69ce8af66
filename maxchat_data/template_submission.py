"""A WhatsApp template's way through Meta's review: written here, sent to
Meta by the server's fetcher (outbound, like a reply), and Meta's verdict
coming back on the webhook."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from .job_queue import JobQueue
from .store import Store, Writer, writes
from .templates import record_review, verdict_of

log = logging.getLogger(__name__)

_COLUMNS = ("name", "language", "category", "body", "variables", "submit_attempts")
SUBMISSIONS = JobQueue("templates", key="id", columns=", ".join(_COLUMNS), next_at="submit_next_at", order="id",
                       due="channel = 'whatsapp' AND status = 'Pending' AND provider_template_id IS NULL"
                           " AND status_reason IS NULL AND (submit_next_at IS NULL OR submit_next_at <= ?)")


def take_templates(store: Store, limit: int = 10) -> list[dict]:
    """WhatsApp templates saved here but not yet sent to Meta for review."""
    return [dict(zip(("id", *_COLUMNS), row)) for row in SUBMISSIONS.take_due(store, limit)]


@writes
def template_submitted(w: Writer, template_id: int, provider_id: str | None, status: str,
                       reason: str | None) -> None:
    """Meta's answer to a template sent for review."""
    if provider_id:
        w.execute("UPDATE templates SET provider_template_id = ? WHERE id = ?", [provider_id, template_id])
    verdict = verdict_of(status)
    if verdict != "Pending" or reason:
        record_review(w, template_id, verdict, reason)


@writes
def template_later(w: Writer, template_id: int, when: datetime) -> None:
    """A submission that failed for now: one more attempt counted, the next at ``when``."""
    w.execute("UPDATE templates SET submit_attempts = submit_attempts + 1, submit_next_at = ? WHERE id = ?",
              [when, template_id])


@dataclass(frozen=True)
class TemplateUpdate:
    """Meta's review verdict on a template, from the WhatsApp webhook."""
    provider_template_id: str | None
    name: str | None
    language: str | None
    event: str
    reason: str | None = None


def webhook_verdict(w: Writer, t: TemplateUpdate) -> bool:
    """WhatsApp's review verdict: match by provider id, else name + language."""
    found = None
    if t.provider_template_id:
        found = w.one("SELECT id FROM templates WHERE channel = 'whatsapp' AND provider_template_id = ?",
                      [t.provider_template_id])
    if found is None and t.name:
        found = w.one("SELECT id FROM templates WHERE channel = 'whatsapp' AND name = ? AND language = ?",
                      [t.name, t.language])
    if found is None:
        log.info("template status for unknown template %s/%s ignored", t.provider_template_id, t.name)
        return False
    record_review(w, found[0], verdict_of(t.event), t.reason if t.reason != "NONE" else None)
    if t.provider_template_id:
        w.execute("UPDATE templates SET provider_template_id = ? WHERE id = ?", [t.provider_template_id, found[0]])
    return True
