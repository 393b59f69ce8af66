"""Files and profile names fetched after the webhook (the server's fetcher
does the provider calls): the jobs the webhook queued (``ingest``), taken
once however many replicas run a fetcher, and what each fetch brings."""
from __future__ import annotations

from datetime import datetime

from .common import contact_name, message_by_provider_id, search_key
from .ingest import MediaRef
from .job_queue import JobQueue
from .media import Attachment, insert_attachment
from .store import Store, Writer, utcnow, writes

# Only files of a stored message: a webhook's file whose message was skipped is never fetched.
MEDIA = JobQueue("pending_media", key="channel, provider_message_id", columns="ref, filename, mime, attempts",
                 due="next_attempt_at <= ? AND EXISTS (SELECT 1 FROM messages m WHERE m.channel = pending_media.channel"
                     " AND m.provider_message_id = pending_media.provider_message_id)")
PROFILES = JobQueue("pending_profiles", key="channel, channel_user_id", columns="attempts",
                    due="NOT done AND next_attempt_at <= ?")


def take_media(store: Store, limit: int = 20) -> list[tuple[MediaRef, int, str]]:
    """Inbound files due for download: (ref, attempts so far, the message's kind)."""
    taken = MEDIA.take_due(store, limit)
    if not taken:
        return []
    # The kinds of every file taken, in one read.
    kinds = {(channel, pmid): kind for channel, pmid, kind in store.all(
        "SELECT m.channel, m.provider_message_id, m.kind FROM messages m"
        " JOIN (SELECT unnest(?::VARCHAR[]) AS channel, unnest(?::VARCHAR[]) AS pmid) t"
        " ON m.channel = t.channel AND m.provider_message_id = t.pmid",
        [[row[0] for row in taken], [row[1] for row in taken]])}
    return [(MediaRef(channel, pmid, ref, filename, mime), attempts, kinds[(channel, pmid)])
            for channel, pmid, ref, filename, mime, attempts in taken]


def take_profiles(store: Store, limit: int = 20) -> list[tuple[str, str, int]]:
    """Customers whose profile name is due for a look-up: (channel, user id, attempts so far)."""
    return PROFILES.take_due(store, limit)


@writes
def media_fetched(w: Writer, ref: MediaRef, attachment: Attachment) -> None:
    """The file of an inbound message is here: attach it."""
    found = message_by_provider_id(w, ref.channel, ref.provider_message_id)
    if found is not None:
        attachment_id = insert_attachment(w, attachment, utcnow())
        # The message is what its file is, not what the webhook called it: a
        # "photo" whose bytes are no picture is shown as a file to download.
        w.execute("UPDATE messages SET attachment_id = ?, kind = ? WHERE id = ?",
                  [attachment_id, attachment.kind, found[0]])
    _media_done(w, ref)


@writes
def media_failed(w: Writer, ref: MediaRef, reason: str) -> None:
    """Given up: the message says why its file is missing."""
    found = message_by_provider_id(w, ref.channel, ref.provider_message_id)
    if found is not None:
        w.execute("UPDATE messages SET error = ? WHERE id = ?", [reason, found[0]])
    _media_done(w, ref)


def _media_done(w: Writer, ref: MediaRef) -> None:
    w.execute("DELETE FROM pending_media WHERE channel = ? AND provider_message_id = ?",
              [ref.channel, ref.provider_message_id])


@writes
def media_later(w: Writer, ref: MediaRef, when: datetime, error: str) -> None:
    """One more failed attempt; the next one at ``when``."""
    w.execute("UPDATE pending_media SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
              " WHERE channel = ? AND provider_message_id = ?", [when, error, ref.channel, ref.provider_message_id])


@writes
def profile_later(w: Writer, channel: str, user: str, when: datetime) -> None:
    """One more failed look-up; the next one at ``when``."""
    w.execute("UPDATE pending_profiles SET attempts = attempts + 1, next_attempt_at = ?"
              " WHERE channel = ? AND channel_user_id = ?", [when, channel, user])


@writes
def profile_done(w: Writer, channel: str, user: str, name: str | None) -> None:
    """The looked-up name (or none): never looked up again."""
    if name:
        set_contact_name(w, channel, user, name)
    w.execute("UPDATE pending_profiles SET done = TRUE WHERE channel = ? AND channel_user_id = ?", [channel, user])


def set_contact_name(w: Writer, channel: str, channel_user_id: str, name: str) -> None:
    """A looked-up profile name replaces the placeholder (the raw id) only:
    a name an agent typed is kept."""
    found = w.one("SELECT contact_id FROM chats WHERE channel = ? AND channel_user_id = ?", [channel, channel_user_id])
    name, placeholder = contact_name(name), contact_name(channel_user_id)
    if found is None or not name:
        return
    w.execute("UPDATE contacts SET name = ? WHERE id = ? AND name = ?", [name, found[0], placeholder])
    w.execute("UPDATE chats SET contact_name = ?, search_name = ? WHERE contact_id = ? AND contact_name = ?",
              [name, search_key(name), found[0], placeholder])
