"""Monitor and Reports end to end: the real server, Debian's chromium, a
customer message through the real Telegram webhook. One server for the file."""
from __future__ import annotations

from pathlib import Path

import pytest

from live_server import live_server
from maxchat_data import accounts, system
from maxchat_data.store import Store
from test_browser_chat import CHROMIUM, DOCS, SECRET, login as chat_login, settle, telegram

playwright = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("insight")
    store = Store(tmp / "server.duckdb", tmp / "media")
    try:
        accounts.bootstrap_admin(store, "admin", "admin-pass-1")
        system.create_account(store, "sari", "Sari Wulandari", "sari-pass-1", "supervisor")
        system.create_account(store, "lina", "Lina Marlina", "lina-pass-1", "analyst")
    finally:
        store.close()
    env = {"TELEGRAM_WEBHOOK_SECRET": SECRET, "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    with live_server(tmp, env=env) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        sari = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True).new_page()
        lina = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True).new_page()
        chat_login(sari, base, "sari", "sari-pass-1")
        chat_login(lina, base, "lina", "lina-pass-1")
        yield {"base": base, "sari": sari, "lina": lina, "tmp": tmp}
        browser.close()


def nav(page, title: str) -> None:
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=20000)
    settle(page)


def test_supervisor_sees_a_customer_arrive_in_the_queue_live_and_clicks_through(world):
    sari, base = world["sari"], world["base"]
    nav(sari, "Monitor")
    queue = sari.locator(".st-key-monitor_unassigned")
    expect(queue).to_contain_text("Nobody is waiting.")
    telegram(base, 4242, "Wulan", "Halo, paket saya belum sampai")
    link = queue.get_by_role("link", name="Wulan")
    expect(link).to_be_visible(timeout=15000)  # the live fragment, no reload
    href = link.get_attribute("href")
    assert href.startswith("/?chat=")
    sari.screenshot(path=str(DOCS / "monitor.png"))
    try:
        with sari.context.expect_page(timeout=3000) as opened:
            link.click()
        chat_page = opened.value
    except Exception:  # the link opened in the same tab
        chat_page = sari
    expect(chat_page.locator(".st-key-chat_header h4")).to_contain_text("Wulan", timeout=30000)
    expect(chat_page.get_by_text("Halo, paket saya belum sampai")).to_be_visible()


def test_analyst_changes_the_report_range_downloads_the_csv_and_cannot_resolve(world):
    lina, base = world["lina"], world["base"]
    telegram(base, 5151, "Tono", "Pesanan saya?")
    nav(lina, "Reports")
    expect(lina.get_by_text("Asia/Jakarta").first).to_be_visible()
    cards = lina.locator(".st-key-rep_cards")
    expect(cards).to_contain_text("Sessions")
    settle(lina)
    lina.screenshot(path=str(DOCS / "reports.png"))
    # Change the range: a range in the past holds no session.
    for which, value in (("start", ("2024", "01", "01")), ("end", ("2024", "01", "31"))):
        for part, text in zip(("year", "month", "day"), value):
            field = lina.get_by_role("spinbutton", name=f"{part}, Range {which} date")
            field.click()
            lina.keyboard.type(text)
    lina.keyboard.press("Enter")
    lina.get_by_role("heading", name="Reports").click()  # leaving the field commits it
    settle(lina)
    expect(cards.locator("[data-testid=stMetricValue]").first).to_have_text("0", timeout=15000)
    with lina.expect_download() as dl:
        lina.locator(".mx-dl-csv_by_day").click()
    text = Path(dl.value.path()).read_text()
    assert text.startswith("Day,Sessions,") and "2024-01-01" in text and "2024-01-31" in text
    # The chat opens read-only: no Resolve anywhere.
    lina.goto(base + "/?chat=1")
    expect(lina.get_by_text("Read only").first).to_be_visible(timeout=30000)
    settle(lina)
    assert lina.get_by_role("button", name="Resolve").count() == 0


def test_a_customer_named_like_a_formula_downloads_as_text_and_tables_offer_no_raw_csv(world):
    """Issue 17: names like =HYPERLINK(...) came out of CSV downloads live."""
    import csv
    sari, base = world["sari"], world["base"]
    evil = '=HYPERLINK("http://127.0.0.1:9/steal","Invoice")'
    telegram(base, 6161, evil, "Halo kak")
    nav(sari, "Reports")
    with sari.expect_download() as dl:
        sari.locator(".mx-dl-csv_sessions").click()
    with open(dl.value.path(), newline="", encoding="utf-8") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert "'" + evil in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    # Streamlit's own table download would write the name as it is: it is switched off.
    sari.locator("[data-testid=stDataFrame]").last.hover()
    sari.wait_for_timeout(500)
    assert sari.get_by_role("button", name="Download as CSV").count() == 0
    assert sari.get_by_role("button", name="Search").count() >= 1  # the toolbar itself is there
