"""The team in a real browser against the real server (W1, W2, Q1): an
admin adds an agent, who logs in (which is Online) and receives an auto-assigned
chat live, inserts a quick reply with `/` and sends it; closing that
agent's browser makes them Offline after the presence timeout, and the
next chat goes to someone else."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from live_server import live_server
from maxchat_data import accounts, actions, quick_replies, team
from maxchat_data.ingest import Inbound, receive
from maxchat_data.store import Store

playwright = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright

from test_browser_chat import CHROMIUM, LAPTOP, SECRET as TG_SECRET, item, login, settle, telegram

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
TIMEOUT = 8  # MAXCHAT_PRESENCE_TIMEOUT for this server, seconds


def go(page, availability: str) -> None:
    page.locator(".st-key-team_availability button", has_text=availability).click()
    settle(page)
    expect(page.locator(".st-key-team_availability button", has_text=availability)).to_have_attribute(
        "aria-checked", "true")


def test_an_agent_goes_online_gets_a_chat_live_answers_with_a_quick_reply_and_goes_offline_by_leaving(tmp_path):
    store = Store(tmp_path / "server.duckdb", tmp_path / "media")
    try:
        admin_id = accounts.bootstrap_admin(store, "admin", "admin-pass-1")
        # A database with chats gets no demo data: one old, resolved chat.
        old = receive(store, Inbound(channel="telegram", channel_user_id="499", contact_name="Sudah Selesai",
                                     provider_message_id="499:1", body="Terima kasih")).chat_id
        actions.resolve(store, old, admin_id)
        team.save_settings(store, admin_id, auto_assign="round_robin", capacity=10, offline_returns=False,
                           agents_see_own=False)
        quick_replies.create(store, admin_id, "/thanks", "Terima kasih {{contact.name}}, salam {{agent.name}}.",
                             shared=True)
    finally:
        store.close()
    env = {"TELEGRAM_WEBHOOK_SECRET": TG_SECRET, "MAXCHAT_PRESENCE_TIMEOUT": str(TIMEOUT)}
    with live_server(tmp_path, env=env, demo=True) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        admin = browser.new_context(viewport=LAPTOP).new_page()
        login(admin, base, "admin", "admin-pass-1")  # logging in is Online…
        go(admin, "Away")  # …until one chooses otherwise: the admin takes no chats for now
        telegram(base, 500, "Lama Menunggu", "Masih ada?")  # a customer waits
        # The admin adds the agent on the Agents page.
        admin.get_by_role("link", name="Agents").click()
        settle(admin)
        form = admin.locator("[data-testid=stForm]").first
        form.get_by_role("textbox", name="Username").fill("wati")
        form.get_by_role("textbox", name="Display name").fill("Wati Rahayu")
        form.get_by_role("textbox", name="Password").fill("wati-pass-1")
        admin.get_by_role("button", name="Add agent").click()
        settle(admin)
        expect(admin.get_by_text("Agent wati created.")).to_be_visible()

        # She logs in, which makes her Online; a customer writes and the chat is hers, live.
        wati_context = browser.new_context(viewport=LAPTOP)
        wati = wati_context.new_page()
        login(wati, base, "wati", "wati-pass-1")
        expect(wati.locator(".st-key-team_availability button", has_text="Online")).to_have_attribute(
            "aria-checked", "true")
        expect(item(wati, "Lama Menunggu")).to_be_visible(timeout=8000)  # the waiting one is hers at once
        telegram(base, 501, "Putri Ayu", "Halo, pesanan saya?")
        expect(item(wati, "Putri Ayu")).to_be_visible(timeout=8000)  # in My Chat, without a reload
        expect(wati.locator(".st-key-chat_tab button", has_text="My Chat")).to_have_attribute("aria-checked", "true")

        # A quick reply: "/th", Enter, choose it; then Enter sends it.
        item(wati, "Putri Ayu").locator("button").first.click()
        settle(wati)
        box = wati.locator("[class*='st-key-chat_draft_'] textarea")
        box.click()
        box.press_sequentially("/th")
        box.press("Enter")
        settle(wati)
        thread = wati.locator(".st-key-chat_thread")
        expect(thread).not_to_contain_text("/th")  # a /shortcut is never sent as it is
        wati.locator(".st-key-chat_qr_matches").get_by_role("button", name="/thanks").click()
        settle(wati)
        expect(box).to_have_value("Terima kasih Putri Ayu, salam Wati Rahayu.")
        box.press("End")
        box.press("Enter")
        expect(thread).to_contain_text("Terima kasih Putri Ayu, salam Wati Rahayu.", timeout=8000)
        expect(box).to_have_value("")

        # The admin goes Online too; Wati closes her browser (no logout).
        go(admin, "Online")
        admin.get_by_role("link", name="Chat").click()
        settle(admin)
        wati_context.close()
        closed = time.monotonic()
        time.sleep(TIMEOUT + 3)  # the timeout, plus the team worker's look
        telegram(base, 502, "Bayu Pratama", "Permisi, mau tanya")
        expect(item(admin, "Bayu Pratama")).to_be_visible(timeout=8000)  # the admin's My Chat
        assert time.monotonic() - closed < TIMEOUT + 15
        admin.get_by_role("link", name="Agents").click()
        settle(admin)
        browser.close()
    with Store(tmp_path / "server.duckdb", tmp_path / "media") as after:
        owners = dict(after.all("SELECT c.contact_name, a.username FROM chats c JOIN agents a ON a.id = c.assignee_id"))
        assert owners == {"Lama Menunggu": "wati", "Putri Ayu": "wati", "Bayu Pratama": "admin"}
        assert after.one("SELECT count(*) FROM messages WHERE body = '/th'")[0] == 0
