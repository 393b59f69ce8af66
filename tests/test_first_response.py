"""One "first response" (issue 19): the first reply a human agent sent,
never a template or a BOT message, kept in the facts and read alike by
Reports, the SQL console, the Monitor and auto-assignment; made again from
the messages when a definition changes (``facts.recompute``,
``python -m maxchat_data recompute-facts``)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import customer_writes
import pandas as pd

from maxchat_data import actions, facts, monitor, sql_console, system, team as roster, templates
from maxchat_data.__main__ import main
from maxchat_data.reports import DEFINITIONS
from maxchat_data.store import Store, utcnow
from test_reports import JKT, RANGE, at, build_history, MON, report

pytestmark = pytest.mark.both_backends


def console(store, sql: str) -> list[dict]:
    frame = sql_console.run_query(store, "analyst", sql, tz=JKT).frame
    return frame.to_dict("records")


def first_responses(store) -> dict[int, tuple]:
    """Per session, as the console's ``sessions`` view shows it."""
    return {r["id"]: (r["first_response_at"], r["first_response_agent_id"], r["first_response_s"])
            for r in console(store, "SELECT id, first_response_at, first_response_agent_id, first_response_s"
                                    " FROM sessions ORDER BY id")}


def console_summary(store) -> dict:
    """Reports' first response time, computed by an analyst in the console."""
    lo, hi = RANGE.bounds(JKT)
    (row,) = console(store, (
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_s) AS median,"
        " percentile_cont(0.9) WITHIN GROUP (ORDER BY first_response_s) AS p90,"
        " avg(first_response_s) AS average, count(first_response_s) AS n FROM sessions"
        f" WHERE started_at >= TIMESTAMPTZ '{lo.isoformat()}' AND started_at < TIMESTAMPTZ '{hi.isoformat()}'"))
    return {"Median (s)": round(row["median"], 6), "p90 (s)": round(row["p90"], 6), "Average (s)": row["average"],
            "Count": row["n"]}


def label(store) -> int:
    store.write(lambda w: w.execute("INSERT INTO labels VALUES (1, 'VIP', 'vip', 'Purple', ?)", [utcnow()]))
    return 1


@pytest.fixture
def history(store, team):
    build_history(store, team["budi"], team["sari"], label(store))
    return team


def same(a, b) -> bool:
    return (pd.isna(a) and pd.isna(b)) or a == b


def test_the_console_sessions_view_gives_the_figures_reports_shows(store, history):
    r = report(store)
    shown = r.metrics().loc["First response time"].to_dict()
    assert shown["Count"] == 3  # hand-worked in test_reports: 300, 600, 32400 s
    assert console_summary(store) == shown
    # Session by session: the same first response as the Reports download, and none for the business-initiated
    # session whose only message before the customer's was a template, nor for the BOT's messages.
    per_session = r.sessions().set_index("session_id")
    mine = first_responses(store)
    assert sorted(mine) == sorted(per_session.index)
    for sid, row in per_session.iterrows():
        when, _agent, secs = mine[sid]
        assert same(when, row["first_response_at"]) and same(secs, row["first_response_s"]), sid
    assert mine[11][:2] == (at(MON, "09:05"), history["budi"])  # not the BOT at 09:00:30
    assert mine[13][:2] == (at(MON, "11:50"), history["budi"])  # not the template at 11:00
    assert pd.isna(mine[13][2])                                  # business initiated: no first response time
    assert pd.isna(mine[14][0]) and pd.isna(mine[14][2])         # never answered


def test_a_definition_change_is_made_good_by_recomputing_the_facts(store, history):
    assert first_responses(store)[11][:2] == (at(MON, "09:05"), history["budi"])
    # The data changes under the facts (as a new rule would read it): Budi's 09:05 reply counts as a template.
    store.write(lambda w: w.execute("UPDATE messages SET kind = 'template' WHERE session_id = 11 AND sent_at = ?",
                                    [at(MON, "09:05")]))
    assert report(store).metrics().loc["First response time", "Median (s)"] == 600.0  # still the stored figures
    store.write(facts.recompute)
    assert first_responses(store)[11] == (at(MON, "09:30"), history["sari"], 1800.0)
    # [600, 1800, 32400]: median 1800; p90 at 1.8: 1800 + 0.8 * 30600 = 26280.
    m = report(store).metrics().loc["First response time"].to_dict()
    assert (m["Median (s)"], m["p90 (s)"], m["Count"]) == (1800.0, 26280.0, 3)
    assert console_summary(store) == m
    # The rest is what a fold from nothing makes: recomputing twice changes nothing.
    tables = ("SELECT * FROM session_facts ORDER BY session_id", "SELECT * FROM waits ORDER BY reply_id",
              "SELECT * FROM session_replies ORDER BY session_id, agent_id", "SELECT * FROM facts_state")
    before = [store.all(sql) for sql in tables]
    store.write(facts.recompute)
    assert [store.all(sql) for sql in tables] == before


def test_the_recompute_command_rebuilds_the_facts_of_a_database_file(tmp_path, capsys, backend):
    if backend != "duckdb":
        pytest.skip("the command opens the DuckDB file itself; on PostgreSQL the test above runs facts.recompute")
    path = tmp_path / "maxchat.duckdb"
    with Store(path, tmp_path / "media") as s:
        budi = system.create_account(s, "budi", "Budi", "budi-pass-1", "agent")
        sari = system.create_account(s, "sari", "Sari", "sari-pass-1", "supervisor")
        build_history(s, budi, sari, label(s))
        facts.catch_up(s)
        s.write(lambda w: w.execute("UPDATE messages SET kind = 'template' WHERE session_id = 11 AND sent_at = ?",
                                    [at(MON, "09:05")]))
    assert main(["--db", str(path), "recompute-facts"]) == 0
    assert "facts of 5 sessions made again" in capsys.readouterr().out
    with Store(path, tmp_path / "media") as s:
        assert s.one("SELECT first_response_at, first_response_agent_id FROM session_facts WHERE session_id = 11") == (
            at(MON, "09:30"), sari)


def test_the_definition_on_the_reports_page_is_the_one_stored():
    said = DEFINITIONS["First response time"]
    assert "human agent" in said and "templates" in said and "BOT messages" in said
    assert facts.AGENT_REPLY == "direction = 'out' AND sender_agent_id IS NOT NULL AND kind <> 'template'"


def _answered_by_a_template_only(store, team) -> int:
    """A chat whose window closed; Budi sends a template (a Business
    initiate session), hands the chat back to the BOT; the customer writes
    30 min and 1 min ago. No agent has answered them: the template is no reply."""
    now = utcnow()
    chat = customer_writes(store, "6281", "lama", name="Templated", sent_at=now - timedelta(days=2)).chat_id
    tpl = templates.create_template(store, team["admin"], channel="whatsapp", name="hello", language="en",
                                    category="UTILITY", body="Hi {{1}}", initiate=True)
    system.review_template(store, tpl, "Accepted")
    actions.send_template(store, chat, team["budi"], tpl, ["Rina"])
    actions.assign(store, chat, None, team["admin"])
    customer_writes(store, "6281", "ini pesanan saya", name="Templated", sent_at=now - timedelta(minutes=30))
    customer_writes(store, "6281", "halo?", name="Templated", sent_at=now - timedelta(minutes=1))
    return chat


def test_the_monitor_counts_a_template_as_no_answer(store, team):
    now = utcnow()
    templated = _answered_by_a_template_only(store, team)
    waiting = customer_writes(store, "6282", "halo", name="Plain", sent_at=now - timedelta(minutes=10)).chat_id
    snap = monitor.snapshot(store, JKT)
    assert [w["chat_id"] for w in snap.waiting] == [templated, waiting]
    # From the oldest message no agent answered, not from the customer's last one.
    (oldest,) = store.one("SELECT sent_at FROM messages WHERE body = 'ini pesanan saya'")
    assert snap.longest_wait["waiting_since"] == oldest
    assert snap.longest_wait["waiting_since"] < now - timedelta(minutes=29)
    assert store.one("SELECT first_response_at FROM session_facts f JOIN chats c ON c.session_id = f.session_id"
                     " WHERE c.id = ?", [templated]) == (None,)


def test_auto_assignment_hands_out_the_chat_a_template_did_not_answer_first(store, team):
    now = utcnow()
    templated = _answered_by_a_template_only(store, team)
    waiting = customer_writes(store, "6282", "halo", name="Plain", sent_at=now - timedelta(minutes=10)).chat_id
    facts.catch_up(store)  # the writer folds at most a second after the messages
    roster.save_settings(store, team["admin"], auto_assign="round_robin", capacity=1, offline_returns=False,
                         agents_see_own=False)
    roster.heartbeat(store, team["budi"], "budi-tab")
    roster.set_availability(store, team["budi"], "Online")  # room for one chat: the longest waiting
    held = dict(store.all("SELECT id, assignee_id FROM chats WHERE id IN (?, ?)", [templated, waiting]))
    assert held == {templated: team["budi"], waiting: None}
