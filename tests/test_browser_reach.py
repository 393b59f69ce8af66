"""Reaching customers first in a real browser, against the fake WhatsApp
API (real HTTP): a new chat to a number sends the template and opens a
Business initiate chat; a CSV broadcast shows its progress live to the end."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from live_server import live_server
from maxchat_data import accounts, system
from maxchat_data.store import Store
from tests.fakes import FakeWhatsApp, listed_template
from tests.fakes.helpers import PNID, env_for

playwright = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright

from test_browser_chat import CHROMIUM, login, settle

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def reach(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reach")
    store = Store(tmp / "server.duckdb", tmp / "media")
    try:
        accounts.bootstrap_admin(store, "admin", "admin-pass-1")
        system.create_account(store, "sari", "Sari Wulandari", "sari-pass-1", "supervisor")
        tid = system.create_template(store, channel="whatsapp", name="promo_lebaran", language="id",
                                     category="MARKETING", body="Halo {{1}}, kode promo {{2}} untukmu.",
                                     initiate=True)
        system.review_template(store, tid, "Accepted")
    finally:
        store.close()
    wa = FakeWhatsApp(phone_number_id=PNID)
    # The account has it too: the sync at start would otherwise mark it deleted on WhatsApp.
    wa.listed = [listed_template("promo_lebaran", "Halo {{1}}, kode promo {{2}} untukmu.", tid="777")]
    env = {**env_for(wa), "MAXCHAT_BROADCAST_RATE": "10"}
    with live_server(tmp, env=env) as base, sync_playwright() as p:
        wa.wait_for("message_templates", 1, timeout=20)  # the sync at start
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        login(page, base, "sari", "sari-pass-1")
        yield {"base": base, "page": page, "wa": wa, "tmp": tmp}
        browser.close()
    wa.close()


def test_new_chat_to_a_number_sends_the_template_and_opens_a_business_initiate_chat(reach):
    page, wa = reach["page"], reach["wa"]
    page.get_by_role("button", name="New chat").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=10000)
    expect(dialog).to_contain_text("Messenger and Telegram do not let a business write first")
    dialog.get_by_role("textbox", name="WhatsApp number").fill("0812 7777 1234")
    dialog.get_by_role("textbox", name="WhatsApp number").press("Enter")
    expect(dialog).to_contain_text("Sends to +6281277771234", timeout=10000)
    dialog.get_by_role("textbox", name="Name (optional)").fill("Rina Kusuma")
    dialog.get_by_role("textbox", name="Name (optional)").press("Enter")
    settle(page)
    dialog.get_by_label("{{1}}").fill("Rina")
    dialog.get_by_label("{{2}}").fill("LBR25")
    dialog.get_by_label("{{2}}").press("Enter")
    expect(dialog.get_by_label("Message")).to_have_value("Halo Rina, kode promo LBR25 untukmu.", timeout=10000)
    dialog.get_by_role("button", name="Send").click()
    expect(dialog).to_be_hidden(timeout=15000)
    header = page.locator(".st-key-chat_header")
    expect(header).to_contain_text("Rina Kusuma", timeout=15000)
    expect(page.get_by_text("started a session (Business initiate)")).to_be_visible(timeout=15000)
    expect(page.get_by_text("Halo Rina, kode promo LBR25 untukmu.").first).to_be_visible()
    (call,) = wa.wait_for("messages", 1, timeout=15)
    assert call.json["to"] == "6281277771234" and call.json["template"]["name"] == "promo_lebaran"
    assert call.json["template"]["components"][0]["parameters"] == [{"type": "text", "text": "Rina"},
                                                                    {"type": "text", "text": "LBR25"}]


def test_csv_broadcast_shows_live_progress_to_the_end(reach):
    page, wa, tmp = reach["page"], reach["wa"], reach["tmp"]
    before = len(wa.sent())
    rows = [f"0813{i:08d},Pelanggan {i},Pelanggan {i},KODE{i}" for i in range(40)]
    rows[1] = "081300000001,**Tebal**,**Tebal** <b>x</b>,KODE1"  # a customer's value is text, never markup
    csv_file = tmp / "numbers.csv"
    csv_file.write_text("phone,name,var1,var2\n" + "\n".join(rows) + "\n0813,Salah,x,y\n")
    page.goto(reach["base"] + "/broadcasts")
    expect(page.get_by_role("heading", name="Broadcasts")).to_be_visible(timeout=20000)
    settle(page)
    page.get_by_text("Numbers from a CSV file").click()
    settle(page)
    page.locator("input[type=file]").set_input_files(str(csv_file))
    expect(page.get_by_text("1 row(s) cannot be sent and are left out")).to_be_visible(timeout=15000)
    expect(page.get_by_text("40 recipient(s)", exact=True)).to_be_visible()
    # Issue 18.6: which column fills which variable, and the first messages as the customers read them.
    expect(page.get_by_text("How the columns fill the template:")).to_be_visible()
    for n in range(5):
        shown = "**Tebal** <b>x</b>" if n == 1 else f"Pelanggan {n}"
        expect(page.locator(f".st-key-bc_first_message_{n}")).to_contain_text(
            f"Halo {shown}, kode promo KODE{n} untukmu.")
    expect(page.locator(".st-key-bc_first_message_1 b")).to_have_count(0)
    expect(page.locator(".st-key-bc_first_message_5")).to_have_count(0)
    page.screenshot(path=str(tmp / "broadcast-preview.png"), full_page=True)
    assert len(wa.sent()) == before  # nothing sent until confirmed
    page.get_by_role("button", name="Send to 40 recipient(s)").click()
    bar = page.locator("[data-testid=stProgress]")
    expect(bar).to_be_visible(timeout=15000)
    seen = set()
    end = time.monotonic() + 40
    while time.monotonic() < end:
        text = bar.inner_text()
        seen.add(text.strip())
        if "40 of 40 handled" in text:
            break
        time.sleep(0.3)
    assert any("40 of 40 handled" in s for s in seen), seen
    assert len([s for s in seen if "handled" in s]) >= 3, seen  # it moved while we watched
    expect(page.get_by_text("Finished")).to_be_visible(timeout=10000)
    assert len(wa.sent()) - before == 40
