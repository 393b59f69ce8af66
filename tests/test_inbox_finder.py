"""The finder (L1-L5) against a count and a sort done here, in Python, over
every chat: after each of a random sequence of actions, for every tab and
filter and every page. What the finder keeps between commits and where it
looks first (the newest chats) must never change an answer."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from conftest import customer_writes
from maxchat_data import actions, inbox, labels, team as teams
from maxchat_data.common import TABS, search_key
from maxchat_data.engine import label_bits
from maxchat_data.errors import MaxchatError
from maxchat_data.inbox import InboxQuery, find_chats
from maxchat_data.store import utcnow

pytestmark = pytest.mark.both_backends

NAMES = ["Rina Kusuma", "Désirée Müller", "Budi Santo", "Santi", "Ahmad", "Putri Ayu", "Sandra", "Joko"]


def expected(store, viewer: int, q: InboxQuery) -> tuple[dict[str, int], list[int]]:
    """Every tab's count and the page's chat ids, from all chats read whole."""
    rows = store.dicts("SELECT id, channel, status, assignee_id, archived, label_ids, label_bits, search_name,"
                       " last_message_at FROM chats")
    # The labels' bits, which the finder reads on DuckDB, say the same as their ids.
    assert [(r["id"], r["label_bits"]) for r in rows] == [(r["id"], label_bits(r["label_ids"])) for r in rows]
    needle = search_key(q.search.strip())
    kept = [r for r in rows
            if (not q.statuses or r["status"] in q.statuses) and (not q.channels or r["channel"] in q.channels)
            and (not q.label_ids or set(q.label_ids) & set(r["label_ids"])) and needle in r["search_name"]]
    in_tab = {"My Chat": lambda r: not r["archived"] and r["assignee_id"] == viewer,
              "All": lambda r: not r["archived"],
              "Unassigned": lambda r: not r["archived"] and r["assignee_id"] is None,
              "Archived": lambda r: r["archived"]}
    counts = {tab: sum(1 for r in kept if in_tab[tab](r)) for tab in TABS}
    newest_first = sorted((r for r in kept if in_tab[q.tab](r)),
                          key=lambda r: (r["last_message_at"] is None,
                                         -r["last_message_at"].timestamp() if r["last_message_at"] else 0, -r["id"]))
    start = (q.page - 1) * q.page_size
    return counts, [r["id"] for r in newest_first[start:start + q.page_size]]


def questions(vip: int, promo: int) -> list[InboxQuery]:
    filters = [{}, {"statuses": ("Open",)}, {"statuses": ("Answered", "Resolved"), "channels": ("whatsapp",)},
               {"label_ids": (vip,)}, {"label_ids": (vip, promo)}, {"search": "sant"},
               {"search": "a", "label_ids": (promo,), "channels": ("whatsapp", "telegram")},
               {"search": "ri", "statuses": ("Open", "Answered")}, {"search": "u", "label_ids": (vip,)},
               {"search": "sant", "statuses": ("Open",), "channels": ("whatsapp", "messenger")},
               {"search": "Müller"}, {"search": "joko", "statuses": ("Open",)}]
    return [InboxQuery(tab=tab, page_size=3, **f) for tab in TABS for f in filters]


def check_every_page(store, viewer: int, qs: list[InboxQuery]) -> None:
    for q in qs:
        page, pages = 1, 1
        while page <= pages:
            asked = InboxQuery(**{**q.__dict__, "page": page})
            counts, ids = expected(store, viewer, asked)
            for _ in range(2):  # the second time between the same commits
                found = find_chats(store, viewer, asked)
                assert (found.counts, [c["id"] for c in found.chats]) == (counts, ids), asked
            pages = found.pages
            page += 1


def test_finder_equals_a_fresh_count_and_sort_after_random_actions(store, team, backend, monkeypatch):
    rng = random.Random(19)
    # A search is answered three ways on DuckDB (inbox._search_by_groups), a
    # few chats here standing for 100k: each is checked.
    monkeypatch.setattr(inbox, "FEW_ROWS", 3)
    ways = {"_search_few": 0, "_search_many": 0, "_counts_and_page": 0}
    for way in ways:
        def counted(*args, _way=way, _real=getattr(inbox, way)):
            ways[_way] += 1
            return _real(*args)
        monkeypatch.setattr(inbox, way, counted)
    now = utcnow()
    # Chats on both sides of the finder's horizons (a day, a month) and one
    # that never had a message.
    ages = [timedelta(minutes=5), timedelta(hours=3), timedelta(days=2), timedelta(days=10),
            timedelta(days=45), timedelta(days=400)]
    chats = []
    for i in range(14):
        channel = ("whatsapp", "telegram", "messenger")[i % 3]
        r = customer_writes(store, user=f"62812{i:04d}", name=NAMES[i % len(NAMES)], channel=channel,
                            sent_at=now - ages[i % len(ages)] - timedelta(seconds=i))
        chats.append(r.chat_id)
    store.write(lambda w: w.execute("UPDATE chats SET last_message_at = NULL WHERE id = ?", [chats[-1]]))
    vip = labels.create_label(store, "VIP", "Purple", team["admin"])
    # Promo comes after 62 others, deleted again (one carried by chats): a
    # label past 62 has no bit (engine.label_bits) and is filtered by its id.
    others = [labels.create_label(store, f"Old {n}", "Grey", team["admin"]) for n in range(62)]
    for chat in chats[:4]:
        labels.set_label(store, chat, others[-1], True, team["admin"])
        labels.set_label(store, chat, vip, True, team["admin"])
    for label in others:
        labels.delete_label(store, label, team["admin"])
    promo = labels.create_label(store, "Promo", "Green", team["admin"])
    assert vip < 63 <= promo
    qs = questions(vip, promo)
    viewers = [team["budi"], team["sari"]]

    def act():
        chat = rng.choice(chats)
        who = rng.choice([team["budi"], team["sari"], team["admin"]])
        move = rng.randrange(9)
        if move == 0:
            actions.assign(store, chat, rng.choice(viewers), team["admin"])
        elif move == 1:
            actions.resolve(store, chat, who)
        elif move == 2:
            (actions.archive if rng.random() < 0.6 else actions.unarchive)(store, chat, team["admin"])
        elif move == 3:
            labels.set_label(store, chat, rng.choice([vip, promo]), rng.random() < 0.7, who)
        elif move == 4:  # the customer writes again (reopens), or a new one writes
            i = len(chats)
            r = customer_writes(store, user=f"62812{rng.choice([chats.index(chat), i]):04d}",
                                name=rng.choice(NAMES), channel=rng.choice(("whatsapp", "telegram")),
                                sent_at=now - rng.choice(ages))
            if r.chat_id not in chats:
                chats.append(r.chat_id)
        elif move == 5:
            actions.update_contact(store, chat, team["admin"], name=rng.choice(NAMES) + " Baru")
        elif move == 6:
            actions.reply(store, chat, who, "Baik kak")
        elif move == 7:
            actions.assign(store, chat, None, team["admin"])
        else:  # refused: nothing changes, and the answers stay right
            actions.assign(store, 10**9, team["budi"], team["admin"])

    for step in range(25):
        for viewer in viewers:
            check_every_page(store, viewer, qs if step % 5 == 0 else rng.sample(qs, 6))
        try:
            act()
        except MaxchatError:
            pass
    for viewer in viewers:
        check_every_page(store, viewer, qs)
    used = {way for way, n in ways.items() if n}
    assert used == ({"_search_few", "_search_many", "_counts_and_page"} if backend == "duckdb"
                    else {"_counts_and_page"}), ways


def test_the_same_question_between_two_commits_reads_nothing(store, team, backend):
    """On DuckDB the answer is kept until the next commit; on PostgreSQL
    (other replicas commit too) it is read every time."""
    customer_writes(store, user="6281300001", name="Rina")
    viewer = team["admin"]
    first = find_chats(store, viewer, InboxQuery())
    reads = []
    real_cursor = store.cursor

    def counted():
        reads.append(1)
        return real_cursor()

    store.cursor = counted
    assert teams.sees_only_own(store, viewer) is False
    team_setting_reads = len(reads)
    reads.clear()
    again = find_chats(store, viewer, InboxQuery())
    assert (again.counts, again.chats) == (first.counts, first.chats)
    if backend == "duckdb":
        assert len(reads) == team_setting_reads  # nothing of the chats
    else:
        assert len(reads) > team_setting_reads
    customer_writes(store, user="6281300002", name="Sari")
    reads.clear()
    after = find_chats(store, viewer, InboxQuery())
    assert after.counts["All"] == 2 and len(reads) > team_setting_reads
