"""Monitor and Reports pages in AppTest: who may open them, and what they show."""
from __future__ import annotations

import re

import pytest

from conftest import customer_writes
from maxchat_data import accounts, actions, csv_safe, login, reports, system
from server import downloads, runtime
from ui_support import BROWSER, agent_named, app, texts, ui_store, visible


def download_links(at) -> list[tuple[str, str]]:
    """(file name, token) of every download link the run drew."""
    html = "".join(str(h.proto.body) for h in at.get("html"))
    return [(name, token) for token, name in re.findall(r'href="download/([\w-]+)" download="([\w.]+)"', html)]


@pytest.fixture
def people(ui_store):
    lina = system.create_account(ui_store, "lina", "Lina", "lina-pass-1", "analyst")
    return {n: agent_named(ui_store, n) for n in ("admin", "budi", "sari")} | {"lina": accounts.get_agent(ui_store, lina)}


@pytest.mark.parametrize("page", ["app_pages/monitor.py", "app_pages/reports.py"])
def test_an_agent_cannot_open_monitor_or_reports(people, page):
    at = app(page, agent=people["budi"])
    assert [e.value for e in at.error] == ["This page is for supervisors, analysts and admins only."]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app(agent=people["budi"]).switch_page(page)


def test_monitor_lists_the_waiting_customer_with_a_link_to_the_chat(people, ui_store):
    chat = customer_writes(ui_store, "6281", "Tolong", name="Rina Kusuma").chat_id
    at = app(agent=people["sari"])
    at.switch_page("app_pages/monitor.py").run()
    assert not at.exception
    assert f"[Rina Kusuma](/?chat={chat})" in texts(at)
    assert "Unassigned (1)" in texts(at)


def test_reports_page_shows_cards_definitions_and_downloads(people, ui_store):
    chat = customer_writes(ui_store, "6281", "Tolong", name="Rina Kusuma").chat_id
    actions.reply(ui_store, chat, people["budi"]["id"], "Siap kak")
    at = app(agent=people["lina"])
    at.switch_page("app_pages/reports.py").run()
    assert not at.exception
    shown = texts(at)
    assert "Asia/Jakarta" in shown and "first reply sent by a human agent" in shown
    cards = {m.label: m.value for m in at.metric}
    assert cards["Sessions"] == "1" and cards["Agent messages"] == "1"
    assert len(download_links(at)) >= 16  # CSV + Parquet of every table


def test_sql_console_page_for_analysts_and_admins_only(people):
    at = app("app_pages/sql.py", agent=people["sari"])
    assert [e.value for e in at.error] == ["This page is for analysts and admins only."]
    at = app(agent=people["lina"])
    at.switch_page("app_pages/sql.py").run()
    at.text_area(key="sql_text").input("SELECT channel, count(*) AS n FROM chats GROUP BY ALL")
    at.button(key="sql_run").click().run()
    assert not at.exception and not at.error
    at.text_area(key="sql_text").input("DELETE FROM chats")
    at.button(key="sql_run").click().run()
    assert "Only SELECT" in at.error[0].value


def test_sql_console_says_what_was_cut_and_makes_files_only_when_asked(people, monkeypatch):
    made = []
    for module, name in ((csv_safe, "csv_bytes"), (reports, "parquet_bytes")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda df, real=real, name=name: made.append(name) or real(df))
    at = app(agent=people["lina"])
    at.switch_page("app_pages/sql.py").run()
    at.text_area(key="sql_text").input("SELECT CASE WHEN i = 0 THEN repeat('x', 6000) || repeat('y', 6000)"
                                       " ELSE 'a' END AS v FROM range(6000) t(i)")
    at.button(key="sql_run").click().run()
    assert not at.exception and not at.error
    assert any("5,000 rows" in c.value and "cut at the 5,000-row limit; values longer than 10,000 characters cut"
               in c.value for c in at.caption)
    assert [name for name, _ in download_links(at)] == ["query.csv", "query.parquet"]
    assert made == []  # a page run makes no file nobody asked for (issue 17: it made both, every run)


def test_sql_console_shows_team_time_beside_utc_and_says_which_is_which(people, ui_store, monkeypatch):
    """Issue 18.10: a person compares the console's times with the other pages' (team time)."""
    monkeypatch.setenv("MAXCHAT_TIMEZONE", "Asia/Jakarta")
    customer_writes(ui_store, "6281", "Tolong", name="Rina Kusuma")
    at = app(agent=people["lina"])
    at.switch_page("app_pages/sql.py").run()
    at.text_area(key="sql_text").input("SELECT id, created_at FROM chats")
    at.button(key="sql_run").click().run()
    assert not at.exception and not at.error
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["id", "created_at", "created_at_local"]
    utc, local = frame.iloc[0]["created_at"], frame.iloc[0]["created_at_local"]
    assert local == utc and local.utcoffset().total_seconds() == 7 * 3600 and utc.utcoffset().total_seconds() == 0
    assert "created_at_local: the team's timezone, Asia/Jakarta (UTC+07:00). Every other time is UTC." \
        in visible(texts(at))


def test_sql_console_page_shows_a_result_with_repeated_column_names(people):
    """It crashed (st.dataframe refuses repeated names); SELECT 1 AS a, 2 AS a is valid SQL."""
    at = app(agent=people["lina"])
    at.switch_page("app_pages/sql.py").run()
    at.text_area(key="sql_text").input("SELECT 'x' AS a, 1 AS n, 2 AS n")
    at.button(key="sql_run").click().run()
    assert not at.exception and list(at.dataframe[0].value.columns) == ["a", "n", "n (2)"]


def test_a_download_link_is_made_on_click_for_its_own_login_only(people, monkeypatch):
    """The links go to /download/<token> (server.downloads): the same token on every
    rerun (a click while live pages redraw still finds it), the file made only
    when fetched, and only for the login the page was drawn for."""
    at = app(agent=people["lina"])
    at.switch_page("app_pages/sql.py").run()
    at.text_area(key="sql_text").input("SELECT '=1+1' AS f, 7 AS n")
    at.button(key="sql_run").click().run()
    (csv_name, csv_token), _parquet = download_links(at)
    assert csv_name == "query.csv"
    at.run()
    assert download_links(at)[0][1] == csv_token  # the same link after a rerun
    cookie = at.session_state["_auth_session"]
    own = BROWSER.cookies[login.COOKIE_NAME]
    answer = downloads._serve(csv_token, own)
    assert answer.status_code == 200 and answer.body.decode().splitlines() == ["f,n", "'=1+1,7"]
    assert answer.headers["content-disposition"] == 'attachment; filename="query.csv"'
    assert downloads._serve(csv_token, None).status_code == 403  # no login
    other = login.start_session(runtime.store(), people["sari"]["id"])
    assert downloads._serve(csv_token, other).status_code == 404  # another person's login
    assert downloads._serve("no-such-token", own).status_code == 404
    login.revoke(runtime.store(), cookie)  # logged out: the link is dead
    assert downloads._serve(csv_token, own).status_code == 403

