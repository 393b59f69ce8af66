"""Background provider calls that must not happen inside a request: inbound
media (downloaded, type-checked by its bytes, attached to the stored
message), Messenger profile names, and new WhatsApp templates sent to Meta
for review (their verdict comes back on the webhook)."""
from __future__ import annotations

import logging
import mimetypes
import time
from datetime import timedelta

from .. import config
from ..media import insert_attachment, save, sniff
from ..store import Store, Writer, utcnow
from ..worker import TopicWorker
from . import set_contact_name
from .base import MediaRef, Permanent, RetryLater, backoff

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6


class Fetcher(TopicWorker):
    name, topic = "maxchat-fetch", "fetch"

    def __init__(self, store: Store, clients: dict, poll: float = 0.3):
        super().__init__(store)
        self.clients, self.poll = clients, poll
        self._template_retry_at = 0.0

    def seconds_to_next_look(self, handled: int) -> float:
        return 2.0  # rescheduled rows come due on their own

    def run_once(self) -> int:
        now = utcnow()
        jobs = self.store.all(
            "SELECT p.channel, p.provider_message_id, p.ref, p.filename, p.mime, p.attempts, m.kind"
            " FROM pending_media p JOIN messages m ON m.channel = p.channel AND m.provider_message_id = p.provider_message_id"
            " WHERE p.next_attempt_at <= ? ORDER BY p.next_attempt_at LIMIT 20", [now])
        for channel, pmid, ref, filename, mime, attempts, kind in jobs:
            self._media(MediaRef(channel, pmid, ref, filename, mime), attempts, kind)
        people = self.store.all("SELECT channel, channel_user_id, attempts FROM pending_profiles"
                                " WHERE NOT done AND next_attempt_at <= ? LIMIT 20", [now])
        for channel, user, attempts in people:
            self._profile(channel, user, attempts)
        return len(jobs) + len(people) + self._templates()

    def _templates(self) -> int:
        """WhatsApp templates saved here but not yet known to Meta."""
        client, waba = self.clients.get("whatsapp"), config.get("WHATSAPP_WABA_ID")
        if client is None or client.missing or not waba or time.monotonic() < self._template_retry_at:
            return 0
        todo = self.store.dicts("SELECT id, name, language, category, body, variables FROM templates"
                                " WHERE channel = 'whatsapp' AND status = 'Pending' AND provider_template_id IS NULL"
                                " AND status_reason IS NULL ORDER BY id LIMIT 10")
        for tpl in todo:
            try:
                provider_id, status = client.submit_template(waba, tpl)
            except RetryLater as exc:
                log.info("template %s not submitted yet: %s", tpl["name"], exc)
                self._template_retry_at = time.monotonic() + backoff(3, exc.retry_after)
                break
            except Permanent as exc:
                self.store.write(_template_submitted, tpl["id"], None, "REJECTED", f"Meta refused it: {exc}")
            else:
                self.store.write(_template_submitted, tpl["id"], provider_id, status, None)
        return len(todo)

    def _media(self, ref: MediaRef, attempts: int, kind: str) -> None:
        client = self.clients.get(ref.channel)
        try:
            if client is None or client.missing:
                raise RetryLater(client.missing if client else "no client")
            data = client.fetch(ref)
            found = sniff(data)
            if found is None:
                raise Permanent("the file is not a document, image or video we can show")
            mime, sniffed_kind = found
            name = ref.filename or f"{kind}-{ref.provider_message_id[-12:]}{mimetypes.guess_extension(mime) or ''}"
            attachment = save(self.store.media_dir, name, data, mime, sniffed_kind)
        except Permanent as exc:
            log.info("media of %s dropped: %s", ref.provider_message_id, exc)
            self.store.write(_media_failed, ref, f"The file could not be fetched: {exc}")
        except RetryLater as exc:
            if attempts + 1 >= MAX_ATTEMPTS:
                self.store.write(_media_failed, ref, f"The file could not be fetched: {exc}")
            else:
                when = utcnow() + timedelta(seconds=backoff(attempts, exc.retry_after))
                self.store.write(_media_later, ref, when, str(exc))
        else:
            self.store.write(_attach, ref, attachment)

    def _profile(self, channel: str, user: str, attempts: int) -> None:
        client = self.clients.get(channel)
        name = None
        try:
            if client is not None and not client.missing and hasattr(client, "profile"):
                name = client.profile(user)
        except RetryLater:
            if attempts + 1 < MAX_ATTEMPTS:
                self.store.write(_profile_later, channel, user, utcnow() + timedelta(seconds=backoff(attempts)))
                return
        except Permanent as exc:
            log.info("profile of %s not available: %s", user, exc)
        self.store.write(_profile_done, channel, user, name)


def _template_submitted(w: Writer, template_id, provider_id, status, reason) -> None:
    from ..templates import _set_status
    from . import TEMPLATE_STATUS
    if provider_id:
        w.execute("UPDATE templates SET provider_template_id = ? WHERE id = ?", [provider_id, template_id])
    verdict = TEMPLATE_STATUS.get(status.upper(), "Pending")
    if verdict != "Pending" or reason:
        _set_status(w, template_id, verdict, reason)


def _attach(w: Writer, ref: MediaRef, attachment) -> None:
    found = w.one("SELECT id FROM messages WHERE channel = ? AND provider_message_id = ?", [ref.channel, ref.provider_message_id])
    if found is not None:
        attachment_id = insert_attachment(w, attachment, utcnow())
        w.execute("UPDATE messages SET attachment_id = ? WHERE id = ?", [attachment_id, found[0]])
    w.execute("DELETE FROM pending_media WHERE channel = ? AND provider_message_id = ?", [ref.channel, ref.provider_message_id])


def _media_failed(w: Writer, ref: MediaRef, reason: str) -> None:
    w.execute("UPDATE messages SET error = ? WHERE channel = ? AND provider_message_id = ?",
              [reason, ref.channel, ref.provider_message_id])
    w.execute("DELETE FROM pending_media WHERE channel = ? AND provider_message_id = ?", [ref.channel, ref.provider_message_id])


def _media_later(w: Writer, ref: MediaRef, when, error: str) -> None:
    w.execute("UPDATE pending_media SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
              " WHERE channel = ? AND provider_message_id = ?", [when, error, ref.channel, ref.provider_message_id])


def _profile_later(w: Writer, channel, user, when) -> None:
    w.execute("UPDATE pending_profiles SET attempts = attempts + 1, next_attempt_at = ? WHERE channel = ? AND channel_user_id = ?",
              [when, channel, user])


def _profile_done(w: Writer, channel, user, name) -> None:
    if name:
        set_contact_name(w, channel, user, name)
    w.execute("UPDATE pending_profiles SET done = TRUE WHERE channel = ? AND channel_user_id = ?", [channel, user])
