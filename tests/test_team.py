"""SPEC §11 on a real temporary DuckDB file: availability and presence (W1),
auto-assignment (W2) with its races (A5), what agents see (W3), quick
replies (Q1), and the Labels page's rules."""
from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter

import pytest

from conftest import customer_writes, wait_until
from maxchat_data import accounts, actions, i18n, inbox, labels, quick_replies as qr, system, team
from maxchat_data.errors import NotAllowed, ValidationError
from maxchat_data.inbox import InboxQuery, find_chats
from maxchat_data.ingest import Inbound, receive_async
from server.team_worker import TeamWorker

pytestmark = pytest.mark.both_backends  # the same rules on DuckDB and PostgreSQL

TIMEOUT = 120.0


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def crew(store):
    """An admin and four agents; presence on a clock the test moves."""
    admin = system.create_account(store, "admin", "Admin", "admin-pass-1", "admin")
    agents = [system.create_account(store, f"agent{i}", f"Agent {i}", "agent-pass-1") for i in range(4)]
    clock = Clock()
    p = team.presence(store)
    p.clock, p.timeout = clock, TIMEOUT
    return {"admin": admin, "agents": agents, "clock": clock}


def go_online(store, *agent_ids, tab="tab1"):
    for a in agent_ids:
        team.heartbeat(store, a, f"{a}-{tab}")
        team.set_availability(store, a, "Online")


def auto(store, crew, method="round_robin", capacity=60, **extra):
    team.save_settings(store, crew["admin"], auto_assign=method, capacity=capacity,
                       offline_returns=extra.get("offline_returns", False),
                       agents_see_own=extra.get("agents_see_own", False))


def new_chats(store, n, start=0):
    return [customer_writes(store, user=f"62800{start + i:05d}", text=f"halo {i}").chat_id for i in range(n)]


def new_chats_in_one_batch(store, n, start=0):
    futures = [receive_async(store, Inbound("telegram", str(90000 + start + i), f"tg{start + i}", "Batch",
                                             body="halo")) for i in range(n)]
    return [f.result(30).chat_id for f in futures]


def assignee(store, chat_id):
    return store.one("SELECT assignee_id FROM chats WHERE id = ?", [chat_id])[0]


def loads(store):
    return dict(store.all("SELECT assignee_id, count(*) FROM chats WHERE status = 'Answered' GROUP BY assignee_id"))


# ---- W2: fairness -------------------------------------------------------------------
def test_off_by_default_every_chat_waits_unassigned(store, crew):
    go_online(store, *crew["agents"])
    ids = new_chats(store, 5)
    assert [assignee(store, c) for c in ids] == [None] * 5


@pytest.mark.slow
def test_round_robin_200_new_chats_among_4_online_agents_is_50_each(store, crew):
    go_online(store, *crew["agents"])
    auto(store, crew, "round_robin", capacity=60)
    new_chats(store, 100)                      # one transaction per chat
    new_chats_in_one_batch(store, 100)         # and a burst the writer commits in groups
    counts = loads(store)
    assert sorted(counts) == sorted(crew["agents"])
    assert all(49 <= n <= 51 for n in counts.values()), counts
    assert sum(counts.values()) == 200
    lines = [i18n.shown(body) for (body,) in store.all("SELECT body FROM messages WHERE direction = 'activity'")]
    assert sum(bool(re.fullmatch(r"BOT assigned the chat to .+ \(auto-assignment\)", line)) for line in lines) == 200


@pytest.mark.slow
def test_least_busy_evens_out_a_skewed_start(store, crew):
    a0, a1, a2, a3 = crew["agents"]
    busy = new_chats(store, 30)
    for c in busy:
        actions.assign(store, c, a0, crew["admin"])
    go_online(store, *crew["agents"])
    auto(store, crew, "least_busy", capacity=60)
    new_chats(store, 90, start=100)
    assert loads(store) == {a0: 30, a1: 30, a2: 30, a3: 30}  # all new ones went to the three idle agents
    new_chats(store, 8, start=300)
    assert loads(store) == {a0: 32, a1: 32, a2: 32, a3: 32}  # then by turns


def test_an_agent_going_away_or_offline_gets_no_chat_after_that_moment(store, crew):
    a0, a1, a2, a3 = crew["agents"]
    go_online(store, *crew["agents"])
    auto(store, crew)
    new_chats(store, 20)
    team.set_availability(store, a3, "Away")
    team.set_availability(store, a2, "Offline")
    later = new_chats(store, 30, start=100)
    got = Counter(assignee(store, c) for c in later)
    assert set(got) == {a0, a1} and got[a0] == got[a1] == 15


def test_capacity_reached_chats_wait_then_go_out_oldest_first_as_capacity_frees(store, crew):
    a0, a1 = crew["agents"][:2]
    go_online(store, a0, a1)
    auto(store, crew, capacity=2)
    ids = new_chats(store, 7)
    assert [assignee(store, c) for c in ids[4:]] == [None, None, None]  # 4 taken, 3 waiting
    assert loads(store) == {a0: 2, a1: 2}
    mine = [c for c in ids[:4] if assignee(store, c) == a0]
    actions.resolve(store, mine[0], a0)
    team.tick(store)
    assert (assignee(store, ids[4]), assignee(store, ids[5]), assignee(store, ids[6])) == (a0, None, None)
    actions.assign(store, mine[1], None, a1)  # handed back to the queue: its customer has waited longest
    team.tick(store)
    assert (assignee(store, mine[1]), assignee(store, ids[5])) == (a0, None)
    actions.resolve(store, ids[4], a0)
    team.tick(store)
    assert (assignee(store, ids[5]), assignee(store, ids[6])) == (a0, None)
    assert loads(store) == {a0: 2, a1: 2}


def test_someone_coming_online_takes_the_waiting_chats(store, crew):
    a0 = crew["agents"][0]
    auto(store, crew, capacity=3)
    ids = new_chats(store, 4)
    assert all(assignee(store, c) is None for c in ids)
    go_online(store, a0)                     # their own write hands out the queue, oldest first
    assert [assignee(store, c) for c in ids] == [a0, a0, a0, None]


def test_a_returning_customer_goes_back_to_their_agent_only_if_online_and_under_capacity(store, crew):
    a0, a1 = crew["agents"][:2]
    go_online(store, a0, a1)
    auto(store, crew, capacity=5)
    chat = new_chats(store, 1)[0]
    first = assignee(store, chat)
    other = a1 if first == a0 else a0
    actions.resolve(store, chat, first)
    new_chats(store, 1, start=50)            # the turn moves on to the other agent
    customer_writes(store, user="6280000000", text="saya lagi")  # the same customer: reopened
    assert assignee(store, chat) == first    # back to their agent, turn or no turn
    actions.resolve(store, chat, first)
    team.set_availability(store, first, "Away")
    customer_writes(store, user="6280000000", text="halo lagi")
    assert assignee(store, chat) == other
    # Deactivated agents are never candidates, whatever they chose.
    accounts.update_agent(store, other, crew["admin"], display_name="Gone", role="agent", active=False)
    assert new_chats(store, 1, start=60) and assignee(store, chat) is None  # back to the queue, nobody Online
    assert loads(store) == {}


# ---- W1: presence ------------------------------------------------------------------------
def test_a_session_that_stops_polling_is_offline_after_the_timeout_and_gets_no_chats(store, crew):
    a0, a1 = crew["agents"][:2]
    clock = crew["clock"]
    go_online(store, a0, a1)
    auto(store, crew, offline_returns=True)
    held = new_chats(store, 4)
    assert Counter(assignee(store, c) for c in held) == {a0: 2, a1: 2}
    clock.t += TIMEOUT - 1
    team.heartbeat(store, a1, f"{a1}-tab1")  # a1's tab polls, a0's stopped
    assert team.availability(store)[a0] == "Online"
    clock.t += 2                             # a0: silent for longer than the timeout
    assert team.availability(store)[a0] == "Offline"
    assert team.availability(store)[a1] == "Online"
    assert team.tick(store)["gone"] == [a0]
    assert all(assignee(store, c) == a1 for c in held)  # their chats went back and on to a1
    assert all(assignee(store, c) == a1 for c in new_chats(store, 3, start=100))
    events = [e["details"] for e in inbox.events(store, held[0])]
    assert any(d.endswith("(went offline)") for d in events)
    # They come back (the tab polls again): they count as Online at once and take chats again.
    team.heartbeat(store, a0, f"{a0}-tab1")
    assert team.availability(store)[a0] == "Online"
    assert assignee(store, new_chats(store, 1, start=200)[0]) == a0


def test_a_second_open_tab_keeps_the_agent_online(store, crew):
    a0 = crew["agents"][0]
    clock = crew["clock"]
    go_online(store, a0, tab="first")
    team.heartbeat(store, a0, f"{a0}-second")
    auto(store, crew)
    for _ in range(5):                       # only the second tab keeps polling
        clock.t += TIMEOUT / 2
        team.heartbeat(store, a0, f"{a0}-second")
    assert team.availability(store)[a0] == "Online"
    assert team.tick(store)["gone"] == []
    assert assignee(store, new_chats(store, 1)[0]) == a0


def test_logging_in_is_online_until_one_chooses_otherwise_and_takes_waiting_chats(store, crew):
    a0 = crew["agents"][0]
    lina = system.create_account(store, "lina", "Lina", "lina-pass-1", "analyst")
    auto(store, crew)
    waiting = new_chats(store, 2)
    assert team.chosen_availability(store, a0) == "Offline"  # a new account has chosen nothing yet
    team.heartbeat(store, a0, f"{a0}-tab1")  # the browser that logged in polls
    assert team.logged_in(store, a0)
    assert team.chosen_availability(store, a0) == "Online" and team.availability(store)[a0] == "Online"
    assert all(assignee(store, c) == a0 for c in waiting)  # at work: the queue is handed out at once
    assert any(e["details"].endswith("Offline -> Online (logged in)") for e in team_events(store))
    team.set_availability(store, a0, "Away")  # their own choice holds while they stay logged in
    assert team.availability(store)[a0] == "Away"
    assert not team.logged_in(store, lina)  # analysts take no chats: nothing changes
    assert team.chosen_availability(store, lina) == "Offline"


def team_events(store):
    return store.dicts("SELECT details FROM events WHERE action = 'availability' ORDER BY id")


def test_logging_out_is_offline(store, crew):
    a0 = crew["agents"][0]
    go_online(store, a0)
    team.logged_out(store, a0)
    assert team.chosen_availability(store, a0) == "Offline" and team.availability(store)[a0] == "Offline"


def test_the_team_worker_notices_a_closed_tab_in_real_time(store, crew):
    a0, a1 = crew["agents"][:2]
    p = team.presence(store)
    p.clock, p.timeout = time.monotonic, 0.6
    go_online(store, a0, a1)
    auto(store, crew, offline_returns=True)
    worker = TeamWorker(store, every=0.1).start()
    try:
        held = new_chats(store, 2)
        stop = time.monotonic() + 1.5
        while time.monotonic() < stop:       # only a1's tab keeps polling
            team.heartbeat(store, a1, f"{a1}-tab1")
            time.sleep(0.1)
        assert team.availability(store)[a0] == "Offline"
        assert wait_until(lambda: all(assignee(store, c) == a1 for c in held), timeout=3)
    finally:
        worker.stop()


# ---- A5: races ---------------------------------------------------------------------------------
ASSIGN = re.compile(r"^(None|\d+) -> (None|\d+)")


@pytest.mark.slow
def test_eight_threads_assigning_by_hand_while_auto_assignment_runs(store, crew):
    agents = crew["agents"]
    go_online(store, *agents)
    chats = new_chats(store, 40)             # waiting: auto-assignment still off
    auto(store, crew, capacity=500)
    stop = threading.Event()
    errors = []

    def by_hand(seed):
        rnd = random.Random(seed)
        try:
            while not stop.is_set():
                actions.assign(store, rnd.choice(chats), rnd.choice(agents + [None]), crew["admin"])
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=by_hand, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for i in range(30):                       # the automatic side: new chats and queue passes
        chats.extend(new_chats(store, 1, start=1000 + i))
        team.assign_waiting_now(store)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    for chat_id in chats:
        row = store.one("SELECT status, assignee_id FROM chats WHERE id = ?", [chat_id])
        assert (row[0] == "Answered") == (row[1] is not None)  # exactly one assignee or none (C3)
        holder = None
        for e in inbox.events(store, chat_id):
            m = ASSIGN.match(e["details"] or "") if e["action"] == "assign" else None
            if m:  # every change starts where the one before ended
                before, after = (None if x == "None" else int(x) for x in m.groups())
                assert before == holder, (chat_id, e)
                assert after != before
                holder = after
        assert holder == row[1]               # and the last one is what the chat says


# ---- W3: what an agent sees -------------------------------------------------------------------
def test_agents_see_only_their_own_and_unassigned_chats_enforced_in_the_finder(store, crew):
    a0, a1 = crew["agents"][:2]
    sup = system.create_account(store, "sup", "Sup", "sup-pass-11", "supervisor")
    mine, theirs, free = new_chats(store, 3)
    actions.assign(store, mine, a0, crew["admin"])
    actions.assign(store, theirs, a1, crew["admin"])
    assert find_chats(store, a0, InboxQuery(tab="All")).total == 3  # setting off: everything
    auto(store, crew, method="off", agents_see_own=True)
    with pytest.raises(NotAllowed, match="only their own chats"):
        find_chats(store, a0, InboxQuery(tab="All"))
    page = find_chats(store, a0, InboxQuery(tab="Unassigned"))
    assert {c["id"] for c in page.chats} == {free}
    assert (page.counts["My Chat"], page.counts["Unassigned"], page.counts["All"]) == (1, 1, 2)
    assert theirs not in {c["id"] for c in find_chats(store, a0, InboxQuery(tab="My Chat", search="")).chats}
    with pytest.raises(NotAllowed):
        inbox.get_chat(store, theirs, viewer=a0)
    assert inbox.get_chat(store, free, viewer=a0)["id"] == free
    for boss in (sup, crew["admin"]):     # supervisors and admins always see All
        assert find_chats(store, boss, InboxQuery(tab="All")).total == 3


def test_with_agents_seeing_only_their_own_new_chat_neither_offers_nor_writes_into_another_agents_chat(store, crew):
    """Issue 17: New chat listed every contact, and a template (or a number
    typed for them) went into a chat another agent holds."""
    from maxchat_data import new_chat
    a0, a1 = crew["agents"][:2]
    sup = system.create_account(store, "sup", "Sup", "sup-pass-11", "supervisor")
    tid = system.create_template(store, channel="whatsapp", name="promo", language="id",
                                 category="MARKETING", body="Halo {{1}}", initiate=True)
    system.review_template(store, tid, "Accepted")
    mine, theirs, free = (customer_writes(store, user=f"628120000000{i}", name=f"Rina {i}").chat_id for i in range(3))
    actions.assign(store, mine, a0, crew["admin"])
    actions.assign(store, theirs, a1, crew["admin"])
    offered = {c["id"] for c in new_chat.find_contacts(store, "rina", viewer=a0)}
    assert offered == {mine, theirs, free}  # setting off: everyone
    auto(store, crew, method="off", agents_see_own=True)
    assert {c["id"] for c in new_chat.find_contacts(store, "rina", viewer=a0)} == {mine, free}
    assert {c["id"] for c in new_chat.find_contacts(store, "rina", viewer=sup)} == {mine, theirs, free}
    before = store.one("SELECT count(*) FROM messages WHERE direction = 'out'")[0]
    for attempt in (lambda: new_chat.start(store, a0, tid, ["Rina"], chat_id=theirs),
                    lambda: new_chat.start(store, a0, tid, ["Rina"], number="+6281200000001"),  # the same chat, typed
                    lambda: actions.reply(store, theirs, a0, "ini chat saya sekarang"),
                    lambda: actions.send_template(store, theirs, a0, tid, ["Rina"])):
        with pytest.raises(NotAllowed, match="assigned to another agent"):
            attempt()
    assert store.one("SELECT count(*) FROM messages WHERE direction = 'out'")[0] == before
    assert assignee(store, theirs) == a1
    # Their own and unassigned chats, and a new number, still work; a supervisor writes anywhere.
    new_chat.start(store, a0, tid, ["Rina"], chat_id=mine)
    new_chat.start(store, a0, tid, ["Rina"], chat_id=free)
    new_chat.start(store, a0, tid, ["Budi"], number="081299998888")
    actions.reply(store, theirs, sup, "Halo, saya supervisor")
    assert store.one("SELECT count(*) FROM messages WHERE direction = 'out'")[0] == before + 4


# ---- settings -----------------------------------------------------------------------------------
def test_team_settings_are_for_admins_and_checked(store, crew):
    a0 = crew["agents"][0]
    with pytest.raises(NotAllowed, match="Only an admin"):
        team.save_settings(store, a0, auto_assign="round_robin", capacity=5, offline_returns=False,
                           agents_see_own=False)
    for bad in (dict(auto_assign="fastest", capacity=5), dict(auto_assign="least_busy", capacity=0),
                dict(auto_assign="least_busy", capacity="lots")):
        with pytest.raises(ValidationError):
            team.save_settings(store, crew["admin"], offline_returns=False, agents_see_own=False, **bad)
    assert team.settings(store) == team.TeamSettings()
    with pytest.raises(ValidationError, match="Availability is one of"):
        team.set_availability(store, a0, "Busy")
    lina = system.create_account(store, "lina", "Lina", "lina-pass-1", "analyst")
    with pytest.raises(NotAllowed, match="analyst"):
        team.set_availability(store, lina, "Online")


# ---- Q1: quick replies ---------------------------------------------------------------------------
def test_quick_replies_fill_their_variables_and_match_what_is_typed(store, crew):
    a0 = crew["agents"][0]
    qr.create(store, crew["admin"], "/thanks", "Terima kasih {{contact.name}}, salam {{ agent.name }}!", shared=True)
    qr.create(store, a0, "thx2", "Sama-sama")
    mine = qr.for_agent(store, a0)
    assert [r["shortcut"] for r in mine] == ["thanks", "thx2"]
    assert [r["shortcut"] for r in qr.for_agent(store, crew["agents"][1])] == ["thanks"]  # personal is personal
    assert [r["shortcut"] for r in qr.matching(mine, "/th")] == ["thanks", "thx2"]
    assert [r["shortcut"] for r in qr.matching(mine, "/thx2")] == ["thx2"]
    assert qr.matching(mine, "/th and more") == [] and qr.matching(mine, "halo") == []
    assert qr.fill(mine[0]["body"], "Rina", "Agent 0") == "Terima kasih Rina, salam Agent 0!"


def test_quick_reply_bad_input_is_refused_with_a_clear_message_and_nothing_stored(store, crew):
    a0, a1 = crew["agents"][:2]
    shared_id = qr.create(store, crew["admin"], "hello", "Halo {{contact.name}}", shared=True)
    own = qr.create(store, a0, "bye", "Sampai jumpa")
    cases = [
        (lambda: qr.create(store, a0, "/Hello", "x"), ValidationError, "already a shared quick reply"),
        (lambda: qr.create(store, a0, "bye", "again"), ValidationError, "You already have a quick reply /bye"),
        (lambda: qr.create(store, crew["admin"], "bye", "x", shared=True), ValidationError, "personal quick reply of Agent 0"),
        (lambda: qr.create(store, a0, "x", "too short a shortcut"), ValidationError, "2 to 32"),
        (lambda: qr.create(store, a0, "/with space", "x"), ValidationError, "2 to 32"),
        (lambda: qr.create(store, a0, "empty", "   "), ValidationError, "needs its text"),
        (lambda: qr.create(store, a0, "vars", "Hi {{customer.phone}}"), ValidationError,
         r"Unknown variable \{\{customer.phone\}\}"),
        (lambda: qr.create(store, a0, "shared1", "x", shared=True), NotAllowed, "Only an admin"),
        (lambda: qr.update(store, a0, shared_id, "hello", "changed"), NotAllowed, "Only an admin"),
        (lambda: qr.delete(store, a1, shared_id), NotAllowed, "Only an admin"),
        (lambda: qr.delete(store, a1, own), NotAllowed, "only by its owner"),
    ]
    before = store.all("SELECT * FROM quick_replies ORDER BY id")
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
    assert store.all("SELECT * FROM quick_replies ORDER BY id") == before
    qr.update(store, crew["admin"], shared_id, "hello", "Halo lagi")   # the admin can
    qr.delete(store, a0, own)                                           # the owner can
    assert [r["body"] for r in qr.for_agent(store, a0)] == ["Halo lagi"]


# ---- the Labels page --------------------------------------------------------------------------------
def test_labels_count_their_chats_rename_recolour_and_refuse_clashes(store, crew):
    vip = labels.create_label(store, "VIP", "Red", crew["admin"])
    labels.create_label(store, "Complaint", "Blue", crew["admin"])
    a, b, _ = new_chats(store, 3)
    labels.set_label(store, a, vip, True, crew["admin"])
    labels.set_label(store, b, vip, True, crew["admin"])
    assert {(l["name"], l["chats"]) for l in labels.labels_in_use(store)} == {("VIP", 2), ("Complaint", 0)}
    labels.update_label(store, vip, "Gold", "Yellow", crew["admin"])
    assert {(l["name"], l["color"], l["chats"]) for l in labels.labels_in_use(store)} >= {
        ("Gold", "Yellow", 2)}
    with pytest.raises(ValidationError, match="already exists"):
        labels.update_label(store, vip, "complaint", "Red", crew["admin"])
    with pytest.raises(ValidationError, match="palette"):
        labels.update_label(store, vip, "Gold", "#123456", crew["admin"])
    with pytest.raises(NotAllowed):
        labels.update_label(store, vip, "Mine", "Red", crew["agents"][0])
    assert [l["name"] for l in labels.labels_in_use(store)] == ["Complaint", "Gold"]
