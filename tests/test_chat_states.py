"""The chat states the writer keeps for ingest (status, archived, blocked,
session: store.Writer.chat_states) against the chats table, after every kind
of write that changes them; a customer writing after each lands as a fresh
read would have it (reopened, un-archived, in the chat's current session).
A rolled-back transaction keeps nothing, and a statement the writer cannot
place forgets every kept state."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import customer_writes, sql_written
from maxchat_data import accounts, actions, broadcasts, new_chat, system, team as teams
from maxchat_data.broadcasts import Audience
from maxchat_data.ingest import Inbound, _receive_batch
from maxchat_data.chat_tally import chats_write
from maxchat_data.store import changes_chat_states

ROW = "SELECT status, archived, blocked, session_id FROM chats WHERE id = ?"


def kept(store) -> dict[int, tuple]:
    return dict(store._w._chat_states)


def assert_kept_states_are_the_rows(store, when: str) -> None:
    for chat_id, state in kept(store).items():
        assert state == store.one(ROW, [chat_id]), f"chat {chat_id} after {when}"


def writes_again(store, user: str, channel="whatsapp"):
    """The customer writes; their message must land as a fresh read of the
    chat would have it."""
    got = customer_writes(store, user=user, channel=channel)
    status, archived, blocked, session = store.one(ROW, [got.chat_id])
    (in_session,) = store.one("SELECT session_id FROM messages WHERE id = ?", [got.message_id])
    assert in_session == session is not None
    if not blocked:
        assert status != "Resolved" and not archived
    return got


@pytest.mark.both_backends
def test_after_every_write_that_changes_a_chat_the_next_message_lands_as_a_fresh_read_would(store, team, backend):
    admin, budi, sari = team["admin"], team["budi"], team["sari"]
    users = [f"6281355500{i:02d}" for i in range(4)]
    chats = [writes_again(store, u).chat_id for u in users]
    a, b, c, d = chats
    for u in users:  # written again: now served from what the writer keeps (DuckDB)
        writes_again(store, u)
    if backend == "duckdb":
        assert set(chats) <= set(kept(store))
    else:  # another replica may change a chat: PostgreSQL reads (and locks) it every time
        assert kept(store) == {}

    def step(name, fn, *again):
        fn()
        assert_kept_states_are_the_rows(store, name)
        for user in again:
            writes_again(store, user)
        assert_kept_states_are_the_rows(store, f"{name}, then a message")

    step("resolve", lambda: actions.resolve(store, a, admin), users[0])
    (sessions,) = store.one("SELECT count(*) FROM sessions WHERE chat_id = ?", [a])
    assert sessions == 2  # the message after Resolve opened a session of its own
    step("archive", lambda: actions.archive(store, b, admin), users[1])
    step("block, then unblock", lambda: actions.block(store, c, admin), users[2])
    assert store.one(ROW, [c])[2] is True
    step("unblock", lambda: actions.unblock(store, c, admin), users[2])
    step("a reply takes the chat", lambda: actions.reply(store, d, budi, "Baik kak"), users[3])
    step("resolve, then a template opens a session", lambda: (
        actions.resolve(store, d, budi), actions.resolve(store, c, budi)))
    tid = system.create_template(store, channel="whatsapp", name="promo", language="id", category="MARKETING",
                                 body="Halo {{1}}", initiate=True)
    system.review_template(store, tid, "Accepted")
    step("new chat to a known customer", lambda: new_chat.start(store, sari, tid, ["Rina"], chat_id=d), users[3])
    rows = broadcasts.read_csv(f"phone,name,var1\n+{users[2]},Eko,Eko\n".encode(), 1).rows
    step("a broadcast reopens a Resolved chat", lambda: broadcasts.create(
        store, sari, tid, Audience("csv", rows=rows), rate=50), users[2])
    step("agent deactivated (chats back to the queue)", lambda: (
        actions.assign(store, a, budi, admin),
        accounts.update_agent(store, budi, admin, display_name="Budi S", role="agent", active=False)), users[0])
    step("auto-assignment, then the agent goes Offline", lambda: (
        teams.heartbeat(store, sari, "tab"), teams.set_availability(store, sari, "Online"),
        teams.save_settings(store, admin, auto_assign="round_robin", capacity=50, offline_returns=True,
                            agents_see_own=False),
        teams.set_availability(store, sari, "Offline")), *users)
    step("a statement that says nothing of chat states", lambda: store.write(
        lambda w: w.execute("UPDATE chats SET status = 'Resolved' WHERE id = ?", [b])), users[1])
    assert store.one("SELECT count(*) FROM sessions WHERE chat_id = ?", [b])[0] == 2


def test_auto_assignment_forgets_only_the_chats_it_gave(store, team):
    admin, sari = team["admin"], team["sari"]
    regulars = [customer_writes(store, user=f"628137770{i:02d}").chat_id for i in range(3)]
    for chat in regulars:
        actions.assign(store, chat, admin, admin)  # not waiting: auto-assignment leaves them
    for i in range(3):
        customer_writes(store, user=f"628137770{i:02d}")  # kept again after the assignments
    teams.heartbeat(store, sari, "tab")
    teams.set_availability(store, sari, "Online")
    teams.save_settings(store, admin, auto_assign="round_robin", capacity=50, offline_returns=False,
                        agents_see_own=False)
    assert set(regulars) <= set(kept(store))
    newcomer = writes_again(store, "6281377799999").chat_id  # a new chat, given to Sari in the same commit
    assert store.one("SELECT assignee_id, status FROM chats WHERE id = ?", [newcomer]) == (sari, "Answered")
    assert set(regulars) <= set(kept(store)) and newcomer not in kept(store)
    assert_kept_states_are_the_rows(store, "auto-assignment")


def test_an_unplaced_statement_forgets_every_kept_state(store, team):
    chat = customer_writes(store).chat_id
    assert chat in kept(store)
    store.write(lambda w: w.execute("UPDATE chats SET session_id = NULL WHERE id = ?", [chat]))
    assert kept(store) == {}
    got = writes_again(store, "6281200000001")  # no session: the message opens one
    assert got.chat_id == chat


def test_a_rolled_back_batch_keeps_no_state(store, team):
    user = "6281377700001"
    chat = customer_writes(store, user=user).chat_id
    actions.resolve(store, chat, team["admin"])
    assert chat not in kept(store)  # Resolve said nothing of a kept state: all forgotten

    def stored_then_failed(w):
        _receive_batch(w, [Inbound("whatsapp", user, "wamid.rolled-back", body="x")], False)  # reopens the chat
        raise RuntimeError("the disk is full")  # and the transaction is rolled back

    with pytest.raises(RuntimeError):
        store.write(stored_then_failed)
    assert chat not in kept(store) and store.one(ROW, [chat])[0] == "Resolved"
    writes_again(store, user)  # reopens it for real, in a session that exists


@pytest.mark.parametrize(("sql", "changes"), [
    ("UPDATE chats SET status = 'Resolved', assignee_id = NULL WHERE id = ?", True),
    ("  update chats set archived = ? where id = ?", True),
    ("UPDATE chats SET blocked = ? WHERE id = ?", True),
    ("UPDATE chats SET last_preview = (SELECT body FROM messages LIMIT 1), session_id = ? WHERE id = ?", True),
    ("WITH x AS (SELECT 1) UPDATE chats SET status = 'Open'", True),
    ("UPDATE chats SET (status, assignee_id) = ('Open', NULL) WHERE id = ?", True),
    ("DELETE FROM chats WHERE id = ?", True),
    ("INSERT INTO chats (id) VALUES (?) ON CONFLICT (id) DO UPDATE SET status = 'Open'", True),
    ("INSERT OR REPLACE INTO chats (id) VALUES (?)", True),
    ("INSERT INTO chats (id, status) VALUES (?, 'Open')", False),  # a new chat: nothing kept of it yet
    ("UPDATE chats SET unread = 0 WHERE id = ?", False),
    ("UPDATE chats SET contact_name = ?, search_name = ? WHERE id = ?", False),
    ("UPDATE chats_archive SET status = 'x'", False),
    ("INSERT INTO messages (id, chat_id) SELECT 1, c.id FROM chats c", False),
    ("SELECT status FROM chats", False),
])
def test_which_statements_can_change_a_chat_state(sql, changes):
    assert changes_chat_states(sql) is changes


def test_no_write_function_writes_chats_past_the_writers_execute():
    """The kept states (and the tab counts) see a statement only through
    Writer.execute, one, all: a write on chats sent to the connection
    itself (``w.con.execute``) would leave a kept state stale."""
    data = Path(__file__).resolve().parents[1] / "maxchat_data"
    past = []
    for path in sorted(data.glob("*.py")):
        for call in ast.walk(ast.parse(path.read_text())):
            if (isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "execute"
                    and isinstance(call.func.value, ast.Attribute) and call.func.value.attr == "con"
                    and call.args and any(chats_write(sql) for sql in sql_written(call.args[0], " chats "))):
                past.append(f"{path.name}:{call.lineno}")
    assert past == []
