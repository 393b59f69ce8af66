"""Background provider calls that must not happen inside a request: inbound
media (downloaded, typed by its bytes, attached to the stored message:
pictures, videos, documents, voice notes and audio, stickers), Messenger
profile names, and new WhatsApp templates sent to Meta for review (their
verdict comes back on the webhook)."""
from __future__ import annotations

import logging
import mimetypes
from datetime import timedelta

from maxchat_data import config, fetching, retry
from maxchat_data.channels.base import Permanent, RetryLater
from maxchat_data.i18n import english, later
from maxchat_data.ingest import MediaRef
from maxchat_data.media import save, sniff
from maxchat_data.store import Store, utcnow
from maxchat_data.template_submission import take_templates, template_later, template_submitted

from .worker import TopicWorker

log = logging.getLogger(__name__)


class Fetcher(TopicWorker):
    """Every failure of a job, whatever raised it (a provider error, a
    read-only media folder, a bug), counts as an attempt under the FETCH
    policy, so one bad job neither repeats forever nor holds back the rest."""

    name, topic = "maxchat-fetch", "fetch"

    def __init__(self, store: Store, clients: dict, poll: float = 0.3, policy: retry.RetryPolicy = retry.FETCH):
        super().__init__(store)
        self.clients, self.poll, self.policy = clients, poll, policy

    def seconds_to_next_look(self, handled: int) -> float:
        return 2.0  # rescheduled rows come due on their own

    def run_once(self) -> int:
        jobs = fetching.take_media(self.store)
        for ref, attempts, kind in jobs:
            self._media(ref, attempts, kind)
        people = fetching.take_profiles(self.store)
        for channel, user, attempts in people:
            self._profile(channel, user, attempts)
        return len(jobs) + len(people) + self._templates()

    def _later(self, attempts: int, exc: Exception, what: str):
        """The time of the next try, or None to give up; logs the failure."""
        if not isinstance(exc, (RetryLater, Permanent)):
            log.warning("%s: %s", what, english(retry.describe(exc)), exc_info=exc)
        delay = self.policy.decide(attempts, exc)
        return None if delay is None else utcnow() + timedelta(seconds=delay)

    def _templates(self) -> int:
        """WhatsApp templates saved here but not yet known to Meta."""
        client, waba = self.clients.get("whatsapp"), config.get("WHATSAPP_WABA_ID")
        if client is None or client.missing or not waba:
            return 0
        todo = take_templates(self.store)
        for tpl in todo:
            try:
                provider_id, status = client.submit_template(waba, tpl)
            except Permanent as exc:
                template_submitted(self.store, tpl["id"], None, "REJECTED",
                                   later._("Meta refused it: {reason}", reason=str(exc)))
            except Exception as exc:  # counted, see the class
                attempts = tpl["submit_attempts"] + 1
                when = self._later(attempts, exc, f"template {tpl['name']} not submitted")
                if when is None:
                    template_submitted(self.store, tpl["id"], None, "REJECTED", self.policy.gave_up(
                        later._("Could not send it to WhatsApp for review"), attempts, exc))
                else:
                    template_later(self.store, tpl["id"], when)
            else:
                template_submitted(self.store, tpl["id"], provider_id, status, None)
        return len(todo)

    def _media(self, ref: MediaRef, attempts: int, kind: str) -> None:
        client = self.clients.get(ref.channel)
        try:
            if client is None or client.missing:
                raise RetryLater(client.missing if client else later._("no client for this channel"))
            data = client.fetch(ref)
            found = sniff(data, expected=kind)
            if found is None:
                raise Permanent(later._("the file is not a document, image or video (or audio) we can show"))
            # The stored kind is what the bytes are: a "photo" that does not
            # decode is kept as a file to download (see media.sniff).
            mime, sniffed_kind = found
            name = ref.filename or f"{kind}-{ref.provider_message_id[-12:]}{mimetypes.guess_extension(mime) or ''}"
            attachment = save(self.store.media_dir, name, data, mime, sniffed_kind)
        except Exception as exc:  # counted, see the class
            when = self._later(attempts + 1, exc, f"media of {ref.provider_message_id}")
            if when is None:
                fetching.media_failed(self.store, ref, self.policy.gave_up(later._("The file could not be fetched"), attempts + 1, exc))
            else:
                fetching.media_later(self.store, ref, when, retry.describe(exc))
        else:
            fetching.media_fetched(self.store, ref, attachment)

    def _profile(self, channel: str, user: str, attempts: int) -> None:
        client = self.clients.get(channel)
        name = None
        try:
            if client is not None and not client.missing and hasattr(client, "profile"):
                name = client.profile(user)
        except Exception as exc:  # counted, see the class
            when = self._later(attempts + 1, exc, f"profile of {user}")
            if when is not None:
                fetching.profile_later(self.store, channel, user, when)
                return
            log.info("profile of %s not available: %s", user, english(retry.describe(exc)))
        fetching.profile_done(self.store, channel, user, name)
