"""The jobs a webhook leaves for later (files and profile names to fetch,
templates to send for review): taken once, leased, given back when the
taker dies, and read in a constant number of queries."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from maxchat_data import fetching, system
from maxchat_data.ingest import Inbound, MediaRef, Parsed, store_parsed
from maxchat_data.job_queue import LEASE
from maxchat_data.store import utcnow
from maxchat_data.template_submission import take_templates, template_later

pytestmark = pytest.mark.both_backends


def files_sent(store, n: int, kinds=("image", "video", "audio", "document")) -> list[tuple[str, str]]:
    """``n`` customers' messages with a file still at the provider: (provider message id, kind)."""
    sent = [(f"wamid.F{i}", kinds[i % len(kinds)]) for i in range(n)]
    store_parsed(store, Parsed(
        messages=[Inbound("whatsapp", f"62811{i:04d}", pmid, kind=kind) for i, (pmid, kind) in enumerate(sent)],
        media=[MediaRef("whatsapp", pmid, f"MEDIA{pmid}") for pmid, _ in sent]))
    return sent


def counting_reads(store, monkeypatch) -> list[str]:
    seen = []
    for name in ("one", "all"):
        real = getattr(store, name)

        def read(sql, params=None, real=real):
            seen.append(sql)
            return real(sql, params)
        monkeypatch.setattr(store, name, read)
    return seen


def test_take_media_reads_every_kind_at_once(store, monkeypatch):
    """Issue 19: the kind of each file was read by one query per file."""
    sent = files_sent(store, 12)
    reads = counting_reads(store, monkeypatch)
    taken = fetching.take_media(store)
    assert sorted((ref.provider_message_id, kind) for ref, attempts, kind in taken) == sorted(sent)
    assert [ref.ref for ref, _, _ in taken] == [f"MEDIA{ref.provider_message_id}" for ref, _, _ in taken]
    assert all(attempts == 0 for _, attempts, _ in taken)
    assert len(reads) <= 2, reads  # "anything due?" and the kinds, however many files


def test_a_taken_job_is_leased_then_given_back(store):
    files_sent(store, 3)
    assert len(fetching.take_media(store)) == 3
    assert fetching.take_media(store) == []  # leased: not taken twice
    # The taker died with them: after the lease they are due again.
    store.write(lambda w: w.execute("UPDATE pending_media SET next_attempt_at = next_attempt_at - ?", [LEASE]))
    assert len(fetching.take_media(store)) == 3


def test_a_file_whose_message_was_not_stored_is_never_taken(store):
    store_parsed(store, Parsed(media=[MediaRef("whatsapp", "wamid.GONE", "MEDIA-GONE")]))
    assert store.one("SELECT count(*) FROM pending_media")[0] == 1
    assert fetching.take_media(store) == []


def test_a_job_put_off_waits_for_its_time(store):
    (pmid, _), = files_sent(store, 1)
    (ref, attempts, _), = fetching.take_media(store)
    fetching.media_later(store, ref, utcnow() + timedelta(hours=1), "provider down")
    store.write(lambda w: w.execute("UPDATE pending_media SET next_attempt_at = next_attempt_at - ?", [LEASE]))
    assert fetching.take_media(store) == []
    assert store.one("SELECT attempts, last_error FROM pending_media WHERE provider_message_id = ?", [pmid]) \
        == (1, "provider down")
    fetching.media_later(store, ref, utcnow() - timedelta(seconds=1), "provider down")
    (again, attempts, kind), = fetching.take_media(store)
    assert (again, attempts, kind) == (ref, 2, "image")


def test_profiles_are_taken_once_and_done_for_good(store):
    store_parsed(store, Parsed(messages=[Inbound("messenger", "PSID1", "m_1")], profiles=[("messenger", "PSID1")]))
    assert fetching.take_profiles(store) == [("messenger", "PSID1", 0)]
    assert fetching.take_profiles(store) == []
    fetching.profile_done(store, "messenger", "PSID1", "Rina")
    store.write(lambda w: w.execute("UPDATE pending_profiles SET next_attempt_at = next_attempt_at - ?", [LEASE]))
    assert fetching.take_profiles(store) == []
    assert store.one("SELECT contact_name FROM chats WHERE channel_user_id = 'PSID1'") == ("Rina",)


def test_templates_to_submit_come_in_order_and_wait_when_put_off(store):
    made = [system.create_template(store, channel="whatsapp", name=f"promo_{i}", language="id", category="MARKETING",
                                   body="Halo {{1}}") for i in range(3)]
    system.create_template(store, channel="telegram", name="hello", language="en", category="UTILITY", body="Hi")
    taken = take_templates(store)
    assert [t["id"] for t in taken] == made  # WhatsApp's only: the others need no review
    assert taken[0] == {"id": made[0], "name": "promo_0", "language": "id", "category": "MARKETING",
                        "body": "Halo {{1}}", "variables": 1, "submit_attempts": 0}
    assert take_templates(store) == []  # leased
    template_later(store, made[1], utcnow() - timedelta(seconds=1))
    assert [(t["id"], t["submit_attempts"]) for t in take_templates(store)] == [(made[1], 1)]


def test_two_replicas_never_take_the_same_job(replica_stores):
    a, b = replica_stores
    sent = files_sent(a, 40)
    start, taken = threading.Barrier(2), {}

    def take(name, store):
        start.wait()
        taken[name] = [ref.provider_message_id for ref, _, _ in fetching.take_media(store, limit=25)]

    threads = [threading.Thread(target=take, args=pair) for pair in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not set(taken["a"]) & set(taken["b"])
    assert len(taken["a"]) + len(taken["b"]) == len(sent)  # none skipped for good either: 25 + 15 or the like
