"""Issue 13, the inbound and sending side: two PgStores on one PostgreSQL
database are two replicas. The first message of a customer reaching both at
once makes one chat; a message delivered to both is stored once; replies
queued at both and sent by a delivery worker at each reach the (fake, real
HTTP) WhatsApp API exactly once; a replica starting leaves a live replica's
sends alone and settles a dead one's."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from maxchat_data import actions, outbox, system
from maxchat_data.channels import clients
from maxchat_data.ingest import Inbound, receive
from maxchat_data.store import utcnow
from server.delivery import DeliveryWorker
from tests.conftest import at_once, wait_until
from tests.test_channels import fakes  # a fixture

N_CUSTOMERS = 40


def first_message(store, user, pmid, text):
    return receive(store, Inbound("whatsapp", user, pmid, "Rina", body=text))


def test_first_messages_of_one_customer_at_both_replicas_make_one_chat(replica_stores):
    a, b = replica_stores
    for n in range(N_CUSTOMERS):
        user = f"62812000{n:05d}"
        got_a, got_b = at_once(lambda: first_message(a, user, f"wamid.A{n}", "halo dari A"),
                               lambda: first_message(b, user, f"wamid.B{n}", "halo dari B"))
        assert got_a.chat_id == got_b.chat_id
    chats = a.dicts("SELECT c.id, c.unread, c.status, c.session_id, count(m.id) AS messages,"
                    " count(DISTINCT m.session_id) AS sessions FROM chats c JOIN messages m ON m.chat_id = c.id"
                    " AND m.direction = 'in' GROUP BY c.id, c.unread, c.status, c.session_id")
    assert len(chats) == N_CUSTOMERS
    for chat in chats:  # one chat, two messages, both counted unread, in the chat's one session
        assert (chat["messages"], chat["unread"], chat["status"], chat["sessions"]) == (2, 2, "Open", 1)
    assert a.one("SELECT count(*) FROM contacts")[0] == N_CUSTOMERS
    assert a.one("SELECT count(*) FROM sessions")[0] == N_CUSTOMERS
    assert a.one("SELECT count(*) FROM events WHERE action = 'chat_created'")[0] == N_CUSTOMERS


def test_one_message_delivered_to_both_replicas_is_stored_once(replica_stores):
    a, b = replica_stores
    first_message(a, "6281299999999", "wamid.known", "first")  # a known customer, and new ones
    for n in range(N_CUSTOMERS):
        user = "6281299999999" if n % 2 else f"62813000{n:05d}"
        got_a, got_b = at_once(lambda: first_message(a, user, f"wamid.same{n}", f"once {n}"),
                               lambda: first_message(b, user, f"wamid.same{n}", f"once {n}"))
        assert got_a.message_id == got_b.message_id and got_a.chat_id == got_b.chat_id
        assert sorted([got_a.duplicate, got_b.duplicate]) == [False, True]
    bodies = Counter(body for (body,) in a.all("SELECT body FROM messages WHERE direction = 'in'"))
    assert bodies == Counter(["first"] + [f"once {n}" for n in range(N_CUSTOMERS)])
    # The repeat changed nothing: unread counts each message once.
    assert a.one("SELECT unread FROM chats WHERE channel_user_id = '6281299999999'")[0] == 1 + N_CUSTOMERS // 2
    assert a.one("SELECT count(*) FROM chats")[0] == 1 + N_CUSTOMERS // 2


def test_replies_queued_at_both_replicas_are_each_sent_exactly_once(replica_stores, fakes):
    a, b = replica_stores
    wa = fakes[0]
    agent = system.create_account(a, "budi", "Budi", "budi-pass-1", "agent")
    chats = [first_message(a, f"62814000{n:05d}", f"wamid.c{n}", "halo").chat_id for n in range(25)]
    workers = [DeliveryWorker(s, clients(), poll=0.05).start() for s in (a, b)]
    try:
        queued = []
        for i in range(500):  # through the real path, alternating replica_stores, while both send
            store = (a, b)[i % 2]
            queued.append(actions.reply(store, chats[i % len(chats)], agent, f"reply {i}"))
        assert wait_until(lambda: a.one("SELECT count(*) FROM messages WHERE direction = 'out'"
                                         " AND status IN ('sent', 'failed')")[0] == 500, 90)
    finally:
        for w in workers:
            w.stop()
    sent = Counter(call["text"]["body"] for call in wa.sent())
    assert sent == Counter(f"reply {i}" for i in range(500))  # each one, once
    assert a.all("SELECT DISTINCT status FROM messages WHERE direction = 'out'") == [("sent",)]
    assert a.one("SELECT count(*) FROM outbox")[0] == 0
    # Both replicas did their share (the claim spreads the work, it does not serialize it).
    assert {w.sender for w in workers} == {s for (s,) in a.all("SELECT id FROM senders")}
    # Each chat's replies reached the customer in the order they were written,
    # though its rows were queued at both replicas and both were sending.
    by_customer: dict[str, list[int]] = {}
    for call in wa.sent():
        by_customer.setdefault(call["to"], []).append(int(call["text"]["body"].split()[1]))
    assert len(by_customer) == len(chats)
    for numbers in by_customer.values():
        assert numbers == sorted(numbers)


def test_a_starting_replica_leaves_a_live_replicas_send_alone_and_settles_a_dead_ones(replica_stores, fakes):
    a, b = replica_stores
    agent = system.create_account(a, "budi", "Budi", "budi-pass-1", "agent")
    chat = first_message(a, "6281500000001", "wamid.s1", "halo").chat_id
    in_flight = actions.reply(a, chat, agent, "on the wire at A")
    taken = actions.reply(a, chat, agent, "claimed by A, not called yet")
    assert sorted(r["message_id"] for r in outbox.claim(a, "replica-a")) == [in_flight, taken]
    assert outbox.sending(a, in_flight, "replica-a")
    worker = DeliveryWorker(b, clients(), poll=0.05).start()  # B starts while A is alive
    try:
        assert outbox.settle_orphans(b, worker.sender) == []
        assert a.all("SELECT message_id, state FROM outbox ORDER BY message_id") == [
            (in_flight, "sending"), (taken, "claimed")]
        assert fakes[0].sent() == []
        # A dies: silent for longer than STALE. B settles its rows.
        a.write(lambda w: w.execute("UPDATE senders SET seen_at = ? WHERE id = 'replica-a'",
                                    [utcnow() - outbox.STALE - timedelta(seconds=1)]))
        assert outbox.settle_orphans(b, worker.sender) == [in_flight]
        assert a.one("SELECT status, error FROM messages WHERE id = ?", [in_flight]) == (
            "failed", outbox.UNSURE_AFTER_RESTART)
        # The claimed one never reached the customer: back in the queue, sent by B.
        assert wait_until(lambda: a.one("SELECT status FROM messages WHERE id = ?", [taken])[0] == "sent", 10)
    finally:
        worker.stop()
    assert [c["text"]["body"] for c in fakes[0].sent()] == ["claimed by A, not called yet"]
