"""The tab counts the writer keeps (maxchat_data/chat_tally.py) against a
fresh count of the chats table, after every kind of write that moves a chat
between tabs or filters; what is rolled back moves nothing; a statement that
does not say which chats it moved is still counted right, and is caught."""
from __future__ import annotations

import ast
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import at_once, customer_writes, sql_written
from maxchat_data import accounts, actions, broadcasts, labels, new_chat, system, team as teams
from maxchat_data.broadcasts import Audience
from maxchat_data.chat_tally import changes_groups
from maxchat_data.errors import MaxchatError
from maxchat_data.inbox import InboxQuery, find_chats

UNSAID = "without saying which"
DATA = Path(__file__).resolve().parents[1] / "maxchat_data"


def fresh(store) -> Counter:
    """Chats per group, counted now in the database."""
    return Counter({(s, c, bool(a), who, tuple(ls or ())): n for s, c, a, who, ls, n in store.all(
        "SELECT status, channel, archived, assignee_id, label_ids, count(*) FROM chats GROUP BY ALL")})


def kept(store) -> Counter:
    """Chats per group, as the tally holds them."""
    groups = store.chat_tally()._groups
    return Counter({key: n for key, n in zip(groups.keys, groups.sizes) if n})


def test_the_counts_follow_every_write_that_moves_a_chat(store, team, caplog):
    caplog.set_level(logging.WARNING, logger="maxchat_data.store")
    admin, budi, sari = team["admin"], team["budi"], team["sari"]
    assert store.chat_tally() is not None and kept(store) == fresh(store) == Counter()

    def step(name, fn):
        fn()
        assert kept(store) == fresh(store), f"after {name}"

    chats = []
    step("customers write (new chats, one batch)", lambda: chats.extend(
        customer_writes(store, user=f"6281300{i:04d}", channel=("whatsapp", "telegram")[i % 2]).chat_id
        for i in range(6)))
    a, b, c, d = chats[:4]
    step("assign", lambda: actions.assign(store, a, budi, admin))
    step("reassign", lambda: actions.assign(store, a, sari, admin))
    step("reply takes an unassigned chat", lambda: actions.reply(store, b, budi, "Baik kak"))
    step("resolve", lambda: actions.resolve(store, b, budi))
    step("customer writes again (reopens)", lambda: customer_writes(store, user="62813000001"))
    step("archive", lambda: actions.archive(store, c, admin))
    step("customer writes (un-archives)", lambda: customer_writes(store, user="62813000002", channel="whatsapp"))
    step("unarchive", lambda: (actions.archive(store, d, admin), actions.unarchive(store, d, admin)))
    vip = labels.create_label(store, "VIP", "Purple", admin)
    promo = labels.create_label(store, "Promo", "Green", admin)
    step("label set", lambda: (labels.set_label(store, a, vip, True, budi), labels.set_label(store, a, promo, True, budi)))
    step("label unset", lambda: labels.set_label(store, a, vip, False, budi))
    step("label deleted", lambda: labels.delete_label(store, promo, admin))
    step("agent deactivated (chats back to the queue)", lambda: (
        actions.assign(store, d, budi, admin),
        accounts.update_agent(store, budi, admin, display_name="Budi Santoso", role="agent", active=False)))
    tid = system.create_template(store, channel="whatsapp", name="promo", language="id", category="MARKETING",
                                 body="Halo {{1}}", initiate=True)
    system.review_template(store, tid, "Accepted")
    step("new chat to a number", lambda: new_chat.start(store, sari, tid, ["Rina"], number="081234567890"))
    actions.resolve(store, chats[4], admin)
    rows = broadcasts.read_csv(b"phone,name,var1\n081299990001,Rina,Rina\n+6281300000004,Eko,Eko\n", 1).rows
    step("broadcast (a new chat, a Resolved one reopened)", lambda: broadcasts.create(
        store, sari, tid, Audience("csv", rows=rows), rate=50))
    step("auto-assignment hands out waiting chats", lambda: (
        teams.heartbeat(store, sari, "tab"), teams.set_availability(store, sari, "Online"),
        teams.save_settings(store, admin, auto_assign="round_robin", capacity=50, offline_returns=True,
                            agents_see_own=False)))
    step("an agent going Offline hands chats back", lambda: teams.set_availability(store, sari, "Offline"))

    def refused():
        with pytest.raises(MaxchatError):
            actions.assign(store, 10**9, sari, admin)
    step("a refused action", refused)
    assert not [r for r in caplog.records if UNSAID in r.getMessage()]
    # And what the finder shows is the tally's: the tabs agree with the table.
    page = find_chats(store, sari, InboxQuery(statuses=("Open", "Answered")))
    assert page.counts["All"] == store.one("SELECT count(*) FROM chats WHERE NOT archived AND status IN"
                                           " ('Open', 'Answered')")[0]


def test_a_statement_that_does_not_say_which_chats_is_counted_right_and_logged(store, team, caplog):
    caplog.set_level(logging.WARNING, logger="maxchat_data.store")
    chat = customer_writes(store).chat_id
    store.chat_tally()
    store.write(lambda w: w.execute("UPDATE chats SET status = 'Resolved' WHERE id = ?", [chat]))
    assert kept(store) == fresh(store)
    assert [r for r in caplog.records if UNSAID in r.getMessage()]


def test_a_rolled_back_transaction_moves_no_chat(store, team):
    chat = customer_writes(store).chat_id
    store.chat_tally()
    before = kept(store)

    def half_done(w):
        w.execute("UPDATE chats SET archived = true WHERE id = ?", [chat])
        w.chats_changed([chat])
        raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError):
        store.write(half_done)
    assert kept(store) == before == fresh(store)


def test_reading_the_tally_moves_no_version(store, team):
    customer_writes(store)
    version = store.version
    store.chat_tally()
    assert store.version == version


@pytest.mark.parametrize(("sql", "moves"), [
    ("INSERT INTO chats (id) VALUES (?)", True),
    ("  update chats set archived = ? where id = ?", True),
    ("UPDATE chats SET assignee_id = b.agent, status = 'Answered' FROM (SELECT 1) b WHERE chats.id = b.id", True),
    ("UPDATE chats SET label_ids = coalesce(l.ids, []) FROM x l WHERE chats.id = l.chat_id", True),
    ("UPDATE chats SET unread = 0 WHERE id = ?", False),
    ("UPDATE chats SET last_preview = ? WHERE id = ? AND status = 'Open'", False),
    ("UPDATE chats SET contact_name = ?, search_name = ? WHERE id = ?", False),
    ("UPDATE chats_archive SET status = 'x'", False),
    ("SELECT status FROM chats", False),
    ("DELETE FROM chats WHERE id = ?", True),
    ("WITH b AS (SELECT 1 AS id) UPDATE chats SET archived = true FROM b WHERE chats.id = b.id", True),
    ("INSERT OR REPLACE INTO chats (id) VALUES (?)", True),
    ("INSERT INTO messages (id, chat_id) SELECT 1, c.id FROM chats c", False),
])
def test_which_statements_can_move_a_chat(sql, moves):
    assert changes_groups(sql) is moves


def test_every_write_function_that_moves_chats_says_which():
    """A new write on chats must call ``chats_changed``: without it the
    counts stay right (the writer reads every group again) but each such
    commit costs a scan of every chat."""
    missing = []
    for path in sorted(DATA.glob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef) or not any(changes_groups(s) for s in sql_written(fn, "status = ?")):
                continue
            calls = {getattr(n.func, "attr", None) for n in ast.walk(fn) if isinstance(n, ast.Call)}
            if not calls & {"chats_changed", "forget_caches"}:
                missing.append(f"{path.name}:{fn.name}")
    assert missing == []
    assert changes_groups("UPDATE chats SET status = ? WHERE id = ?")  # the check itself sees a move



def test_a_file_with_a_huge_or_negative_chat_id_is_counted_without_asking_for_terabytes(store, team):
    """Only the writer hands out chat ids (1, 2, 3, ...), but a file may come
    from elsewhere: one huge id once made the tally (and the server's start)
    fail with MemoryError."""
    def odd_chats(w):
        for chat_id, uid in ((1 << 40, "huge"), (-5, "negative")):
            w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name,"
                      " status, created_at) VALUES (?, 1, 'telegram', ?, 'Xavi', 'xavi', 'Open', now())", [chat_id, uid])
    store.write(odd_chats)
    customer_writes(store)
    assert kept(store) == fresh(store)
    for chat_id in (1 << 40, -5):
        actions.assign(store, chat_id, team["budi"], team["admin"])
        assert kept(store) == fresh(store)
    assert find_chats(store, team["budi"], InboxQuery(tab="My Chat")).counts["My Chat"] == 2
    # A name search answered from the groups of the chats it finds (inbox._search_by_groups).
    found = find_chats(store, team["budi"], InboxQuery(tab="My Chat", search="xav"))
    assert (found.counts["My Chat"], sorted(c["id"] for c in found.chats)) == (2, [-5, 1 << 40])
    groups, keys, _ = store.chat_tally().groups_of(np.array([1 << 40, -5, 10**6], dtype=np.int64))
    assert [keys[g][3] if g >= 0 else None for g in groups] == [team["budi"], team["budi"], None]


def test_agents_acting_on_the_same_chats_at_once_leave_the_counts_true(store, team):
    """Several actions on one chat in one commit group: the chat is read back
    once, as the last of them left it."""
    chats = [customer_writes(store, user=f"6281500{i:04d}").chat_id for i in range(3)]
    store.chat_tally()
    budi, sari, admin = team["budi"], team["sari"], team["admin"]

    def safely(fn, *args):
        try:
            fn(store, *args)
        except MaxchatError:
            pass  # e.g. resolving what another just resolved: refused, nothing changes

    for _ in range(3):
        at_once(*[lambda c=c, who=who: safely(actions.assign, c, who, admin) for c in chats for who in (budi, sari)],
                *[lambda c=c: safely(actions.resolve, c, budi) for c in chats],
                *[lambda c=c: safely(actions.archive, c, admin) for c in chats[:1]],
                *[lambda c=c: safely(actions.reply, c, sari, "Baik kak") for c in chats])
        assert kept(store) == fresh(store)
