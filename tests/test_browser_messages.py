"""Issue 14 in a real browser: what customers send beyond text, as an agent
sees it. The real server with WhatsApp pointed at the fake Cloud API: the
webhooks are signed and posted over HTTP, the voice note is fetched by the
server's own fetcher, and the page plays it."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from live_server import live_server
from maxchat_data import accounts, system
from maxchat_data.store import Store
from tests.fakes import FakeWhatsApp
from tests.fakes.helpers import OGG_OPUS, PNID, WA_SECRET, body_of, env_for, meta_headers, wa_message, wa_webhook

playwright = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright

from test_browser_chat import CHROMIUM, login, open_chat, tab

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
CUSTOMER = "6281255550001"


def post(base: str, messages) -> None:
    body = body_of(wa_webhook(messages, names={CUSTOMER: "Rina Kusuma"}))
    r = requests.post(base + "/webhooks/whatsapp", data=body, headers=meta_headers(WA_SECRET, body), timeout=10)
    assert r.status_code == 200, r.text


def special(mid: str, kind: str, part: dict, ts: int | None = None) -> dict:
    return {"from": CUSTOMER, "id": mid, "timestamp": str(ts or int(time.time())), "type": kind, kind: part}


def test_voice_note_plays_location_opens_a_map_reaction_and_edit_show(tmp_path):
    with FakeWhatsApp(phone_number_id=PNID) as wa:
        wa.add_media("VOICE1", OGG_OPUS, "audio/ogg; codecs=opus")
        store = Store(tmp_path / "server.duckdb", tmp_path / "media")
        try:
            accounts.bootstrap_admin(store, "admin", "admin-pass-1")
            system.create_account(store, "dewi", "Dewi Lestari", "dewi-pass-1")
        finally:
            store.close()
        with live_server(tmp_path, env=env_for(wa)) as base, sync_playwright() as p:
            now = int(time.time())
            post(base, [wa_message(CUSTOMER, "Paketnya sudah sampai, terima kasih", mid="wamid.THANKS")])
            post(base, [special("wamid.VOICE", "audio", {"id": "VOICE1", "mime_type": "audio/ogg; codecs=opus",
                                                          "voice": True})])
            post(base, [special("wamid.LOC", "location", {"latitude": -6.175392, "longitude": 106.827153,
                                                          "name": "Toko Maju", "address": "Jl. Merdeka 1, Jakarta"})])
            post(base, [special("wamid.R1", "reaction", {"message_id": "wamid.THANKS", "emoji": "🙏"})])
            post(base, [wa_message(CUSTOMER, "Alamat: Jl. Mawar 1", mid="wamid.ADDR")])
            post(base, [special("wamid.ED1", "edit", {"original_message_id": "wamid.ADDR", "message": {
                "type": "text", "text": {"body": "Alamat: Jl. Mawar 12"}}}, now + 1)])

            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless=new", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"])
            page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            login(page, base, "dewi", "dewi-pass-1")
            tab(page, "All")
            open_chat(page, "Rina Kusuma")
            thread = page.locator(".st-key-chat_thread")

            # The voice note: fetched by the server, checked by its bytes, played by the browser.
            audio = thread.locator("[class*='st-key-msg_audio_'] audio")
            expect(audio).to_have_count(1, timeout=20000)
            expect(thread).to_contain_text("Voice note")
            audio.evaluate("a => { a.muted = true; return a.play(); }")
            page.wait_for_function("() => { const a = document.querySelector(\"[class*='st-key-msg_audio_'] audio\");"
                                   " return a && !a.error && a.currentTime > 0.2; }", timeout=15000)
            assert audio.evaluate("a => a.duration") == pytest.approx(1.0, abs=0.1)

            # The location: its name and address as text, a map link our code built.
            expect(thread).to_contain_text("Toko Maju")
            expect(thread).to_contain_text("Jl. Merdeka 1, Jakarta")
            link = thread.get_by_role("link", name="Open in map")
            expect(link).to_have_attribute(
                "href", "https://www.openstreetmap.org/?mlat=-6.175392&mlon=106.827153#map=17/-6.175392/106.827153")

            # The reaction sits on the message it is about; no new message for it.
            reacted = thread.locator("[data-testid=stChatMessage]", has_text="Paketnya sudah sampai")
            expect(reacted.locator("[class*='st-key-msg_reaction_']")).to_contain_text("🙏")
            expect(thread.locator("[data-testid=stChatMessage]")).to_have_count(4)

            # The edit: the new text, marked edited, the old one under "Earlier versions".
            edited = thread.locator("[data-testid=stChatMessage]", has_text="Jl. Mawar 12")
            expect(edited).to_contain_text("edited")
            edited.get_by_text("Earlier versions").click()
            expect(edited).to_contain_text("Alamat: Jl. Mawar 1")
            page.screenshot(path=str(tmp_path / "messages.png"), full_page=True)
            browser.close()
