"""Background provider calls that must not happen inside a request: inbound
media (downloaded, typed by its bytes, attached to the stored message), Messenger profile names, and new WhatsApp templates sent to Meta
for review (their verdict comes back on the webhook)."""
from __future__ import annotations

import logging
import mimetypes
import time
from datetime import timedelta

from maxchat_data import config, ingest
from maxchat_data.channels.base import Permanent, RetryLater, backoff
from maxchat_data.errors import ValidationError
from maxchat_data.ingest import MediaRef
from maxchat_data.media import save, sniff
from maxchat_data.store import Store, utcnow

from .worker import TopicWorker

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
                ingest.template_submitted(self.store, tpl["id"], None, "REJECTED", f"Meta refused it: {exc}")
            else:
                ingest.template_submitted(self.store, tpl["id"], provider_id, status, None)
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
            # The stored kind is what the bytes are: a "photo" that does not
            # decode is kept as a file to download (see media.sniff).
            mime, sniffed_kind = found
            name = ref.filename or f"{kind}-{ref.provider_message_id[-12:]}{mimetypes.guess_extension(mime) or ''}"
            try:
                attachment = save(self.store.media_dir, name, data, mime, sniffed_kind)
            except ValidationError as exc:  # the disk refused it; it may not later
                raise RetryLater(str(exc)) from exc
        except Permanent as exc:
            log.info("media of %s dropped: %s", ref.provider_message_id, exc)
            ingest.media_failed(self.store, ref, f"The file could not be fetched: {exc}")
        except RetryLater as exc:
            if attempts + 1 >= MAX_ATTEMPTS:
                ingest.media_failed(self.store, ref, f"The file could not be fetched: {exc}")
            else:
                when = utcnow() + timedelta(seconds=backoff(attempts, exc.retry_after))
                ingest.media_later(self.store, ref, when, str(exc))
        else:
            ingest.media_fetched(self.store, ref, attachment)

    def _profile(self, channel: str, user: str, attempts: int) -> None:
        client = self.clients.get(channel)
        name = None
        try:
            if client is not None and not client.missing and hasattr(client, "profile"):
                name = client.profile(user)
        except RetryLater:
            if attempts + 1 < MAX_ATTEMPTS:
                ingest.profile_later(self.store, channel, user, utcnow() + timedelta(seconds=backoff(attempts)))
                return
        except Permanent as exc:
            log.info("profile of %s not available: %s", user, exc)
        ingest.profile_done(self.store, channel, user, name)
