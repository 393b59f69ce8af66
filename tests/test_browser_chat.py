"""The Chat page end to end: the real server (``streamlit run app.py``)
driven by Playwright in Debian's chromium, two agents in two browser
contexts, customer messages arriving through the real Telegram webhook.

The tests share one server and two logged-in pages and run in file order
(each builds on the previous one's state), like one long session."""
from __future__ import annotations

import io
import itertools
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from live_server import live_server
from maxchat_data import accounts, system
from maxchat_data.ingest import Inbound, receive
from maxchat_data.store import Store, utcnow

playwright = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright
from screenshots import DOCS

CHROMIUM = "/usr/bin/chromium"
SECRET = "s3cret"
_updates = itertools.count(1000)
LAPTOP = {"width": 1366, "height": 768}


def picture() -> bytes:
    """A small real photo-like PNG (a gradient), so the screenshot shows it."""
    from PIL import Image
    img = Image.new("RGB", (240, 150))
    img.putdata([(40 + x // 2, 120 + y // 2, 200 - x // 3) for y in range(150) for x in range(240)])
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


def telegram(base: str, user: int, name: str, text: str) -> None:
    """A customer writes: a real Telegram update through the real webhook."""
    n = next(_updates)
    body = {"update_id": n, "message": {"message_id": n, "from": {"id": user, "first_name": name},
                                        "chat": {"id": user, "type": "private"}, "date": int(time.time()),
                                        "text": text}}
    r = requests.post(base + "/webhooks/telegram", json=body, timeout=10,
                      headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert r.status_code == 200, r.text


def settle(page) -> None:
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=15000)


def login(page, base: str, username: str, password: str) -> None:
    page.goto(base)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    # exact: "Maxchat Inbox", the login form's own title, contains "chat"
    expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible(timeout=30000)
    settle(page)


def item(page, name: str):
    return page.locator(".st-key-chat_list_items [class*='st-key-chat_item_']", has_text=name)


def tab(page, label: str) -> None:
    button = page.locator(".st-key-chat_tab button", has_text=label)
    for _ in range(4):  # a click that lands while the live list redraws can be lost: check and retry
        settle(page)
        button.click()
        try:
            expect(button).to_have_attribute("aria-checked", "true", timeout=3000)
            break
        except AssertionError:
            continue
    settle(page)


def open_chat(page, name: str) -> None:
    header = page.locator(".st-key-chat_header h4")
    for _ in range(4):  # the live list may re-order or redraw under the pointer: click again then
        settle(page)
        try:
            page.locator(".st-key-chat_list_items [class*='st-key-chat_open_'] button", has_text=name).first.click(
                timeout=5000)
            expect(header).to_contain_text(name, timeout=5000)
            break
        except (AssertionError, PlaywrightTimeout):
            continue
    expect(header).to_contain_text(name)
    settle(page)


def send_file(page) -> None:
    """`Send file`; again if the upload had not reached the server yet (the
    uploader shows a file as soon as it is picked, before it is uploaded)."""
    for _ in range(5):
        settle(page)
        page.locator(".st-key-chat_send_file button:visible").first.click()
        settle(page)
        if not page.get_by_text("Choose a file first.").is_visible():
            return
        time.sleep(1)


def confirm(page) -> None:
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=10000)
    dialog.get_by_role("button", name="OK").click()
    expect(dialog).to_be_hidden(timeout=10000)
    settle(page)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    # DuckDB allows one process per file: seed before the server opens it.
    store = Store(tmp / "server.duckdb", tmp / "media")
    try:
        accounts.bootstrap_admin(store, "admin", "admin-pass-1")
        system.create_account(store, "budi", "Budi Santoso", "budi-pass-1")
        system.create_account(store, "sari", "Sari Wulandari", "sari-pass-1")
        tid = system.create_template(store, channel="whatsapp", name="order_update", language="id",
                                     category="UTILITY", body="Halo {{1}}, pesanan {{2}} sudah kami kirim.",
                                     initiate=True)
        system.review_template(store, tid, "Accepted")
        receive(store, Inbound(channel="whatsapp", channel_user_id="6281234567", contact_name="Lama Sekali",
                               provider_message_id="wamid.old1", body="Halo, masih buka?",
                               sent_at=utcnow() - timedelta(days=2)))
    finally:
        store.close()
    env = {"TELEGRAM_WEBHOOK_SECRET": SECRET, "WHATSAPP_APP_SECRET": "appsecret", "WHATSAPP_VERIFY_TOKEN": "v",
           # Others edit this tree while tests run: Streamlit's file watcher would then re-import
           # maxchat_data in the server and hand later sessions a second store whose version never moves.
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    # Demo mode: channels without credentials deliver to the sandbox, so replies tick to read.
    with live_server(tmp, env=env, demo=True) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless=new", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"])
        budi_ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
        sari_ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
        budi, sari = budi_ctx.new_page(), sari_ctx.new_page()
        alerts = []
        for pg in (budi, sari):
            pg.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
        telegram(base, 111, "Rina", "Halo kak, pesanan saya sudah dikirim?")
        login(budi, base, "budi", "budi-pass-1")
        login(sari, base, "sari", "sari-pass-1")
        yield {"base": base, "budi": budi, "sari": sari, "alerts": alerts, "tmp": tmp}
        browser.close()


def test_assign_shows_up_in_the_other_agents_my_chat_without_reload(world):
    budi, sari = world["budi"], world["sari"]
    expect(sari.locator(".st-key-chat_tab")).to_contain_text("My Chat (0)")
    tab(budi, "All")
    open_chat(budi, "Rina")
    budi.locator("[class*='st-key-assign_hdr_']").click()
    budi.get_by_role("option", name="Sari Wulandari").click()
    settle(budi)
    expect(budi.locator(".st-key-chat_thread")).to_contain_text("Budi Santoso assigned the chat to Sari Wulandari")
    # Sari's page polls: no reload, no click.
    expect(item(sari, "Rina")).to_be_visible(timeout=8000)
    expect(sari.locator(".st-key-chat_tab")).to_contain_text("My Chat (1)")
    assert "chat=" in budi.evaluate("location.href")  # the open chat is in the shareable URL


def test_reply_with_text_emoji_and_image_and_a_2mb_file_is_refused(world):
    sari = world["sari"]
    open_chat(sari, "Rina")
    box = sari.locator("[class*='st-key-chat_draft_'] textarea")
    box.fill("Sudah kak :thumbsup:")
    box.blur()
    settle(sari)
    sari.locator(".st-key-chat_emoji_pop button:visible").first.click()
    sari.locator(".st-key-chat_emoji_0 button").click()
    settle(sari)
    expect(box).to_have_value("Sudah kak :thumbsup:😊")
    sari.keyboard.press("Escape")
    sari.locator(".st-key-chat_send button:visible").first.click()
    settle(sari)
    thread = sari.locator(".st-key-chat_thread")
    expect(thread).to_contain_text("Sudah kak 👍😊", timeout=8000)
    expect(box).to_have_value("")

    # Too big: refused, nothing sent.
    big = world["tmp"] / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024))
    sari.locator(".st-key-chat_attach_pop button:visible").first.click()
    sari.locator("[class*='st-key-chat_upload_'] input[type=file]").set_input_files(str(big))
    # The uploader itself refuses it (server.maxUploadSize = 1): it never reaches the server.
    expect(sari.locator("[class*='st-key-chat_upload_']")).to_contain_text("File must be 1.0MB or smaller",
                                                                          timeout=10000)
    expect(thread).not_to_contain_text("big.pdf")

    # An image with a caption.
    pic = world["tmp"] / "pic.png"
    pic.write_bytes(picture())
    if not sari.locator("[class*='st-key-chat_upload_'] section").first.is_visible():
        sari.locator(".st-key-chat_attach_pop button:visible").first.click()
    sari.locator("[class*='st-key-chat_upload_'] input[type=file]").set_input_files(str(pic))
    expect(sari.locator("[class*='st-key-chat_upload_']")).to_contain_text("pic.png", timeout=10000)
    settle(sari)
    cap = sari.locator("[class*='st-key-chat_caption_'] input")
    cap.fill("Ini fotonya :smile:")
    cap.press("Enter")
    settle(sari)
    send_file(sari)
    sari.keyboard.press("Escape")
    expect(thread.locator("[data-testid=stImage] img")).to_have_count(1, timeout=8000)
    expect(thread).to_contain_text("Ini fotonya 😊")
    sari.screenshot(path=str(DOCS / "chat.png"))


def test_customer_message_appears_live_with_toast_only_when_the_bell_is_on(world):
    sari, base = world["sari"], world["base"]
    open_chat(sari, "Rina")  # not left to the test before: this one must stand alone
    bell = sari.locator(".st-key-chat_bell input")
    expect(bell).to_be_checked()
    telegram(base, 111, "Rina", "Ditunggu ya kak")
    thread = sari.locator(".st-key-chat_thread")
    expect(thread).to_contain_text("Ditunggu ya kak", timeout=5000)
    expect(sari.locator("[class*='st-key-chat_sound_'] audio[autoplay]")).to_have_count(1, timeout=3000)  # the ding
    toast = sari.locator(".st-key-chat_toasts", has_text="Ditunggu ya kak")
    expect(toast).to_be_visible(timeout=5000)
    box, screen = toast.bounding_box(), sari.viewport_size  # bottom right, as the guide shows
    assert box["x"] > screen["width"] / 2 and box["y"] > screen["height"] / 2
    sari.locator(".st-key-chat_bell label").click()
    settle(sari)
    expect(bell).not_to_be_checked()
    expect(sari.locator(".st-key-chat_toasts")).not_to_contain_text("Ditunggu", timeout=12000)  # it expires
    telegram(base, 111, "Rina", "Halo lagi")
    expect(thread).to_contain_text("Halo lagi", timeout=5000)
    time.sleep(3)  # a pop-up would have shown by now
    expect(sari.locator(".st-key-chat_toasts")).not_to_contain_text("Halo lagi")
    expect(sari.locator("[class*='st-key-chat_sound_'] audio")).to_have_count(0)
    sari.locator(".st-key-chat_bell label").click()  # back on for the next tests
    settle(sari)


def test_a_draft_survives_refresh_ticks(world):
    sari, base = world["sari"], world["base"]
    box = sari.locator("[class*='st-key-chat_draft_'] textarea")
    sari.keyboard.press("Escape")  # a pop-up the last test left open covers the box, as it would a person's
    box.click()
    box.type("setengah diketik")  # not committed: still only in the browser
    for i in range(3):
        telegram(base, 111, "Rina", f"tick {i}")  # makes each tick really redraw the thread
        time.sleep(2.6)
    expect(sari.locator(".st-key-chat_thread")).to_contain_text("tick 2")
    expect(box).to_have_value("setengah diketik")
    box.fill("")
    box.blur()
    settle(sari)


def test_customer_text_is_shown_literally(world):
    budi, base = world["budi"], world["base"]
    telegram(base, 222, "Mallory", "<img src=x onerror=alert(1)>")
    telegram(base, 222, "Mallory", "**bold**")
    tab(budi, "Unassigned")
    expect(item(budi, "Mallory")).to_be_visible(timeout=8000)
    open_chat(budi, "Mallory")
    thread = budi.locator(".st-key-chat_thread")
    expect(thread).to_contain_text("<img src=x onerror=alert(1)>")
    expect(thread).to_contain_text("**bold**")
    assert thread.locator("img[src=x]").count() == 0 and thread.locator("strong", has_text="bold").count() == 0
    assert world["alerts"] == []
    # A name as long as a channel may send (100 characters) stays one line in the list, and a URL in the
    # preview is text, not a link.
    telegram(base, 223, "Panjang " + "Namanya" * 20, "lihat https://evil.example/promo atau www.x.com")
    long = item(budi, "Panjang")
    expect(long).to_contain_text("promo", timeout=8000)
    expect(long).to_have_count(1, timeout=8000)  # not mid-redraw
    # The escaper's word joiners are invisible; without them the text reads as sent.
    assert "https://evil.example/promo atau www.x.com" in long.inner_text().replace("\u2060", "")
    assert long.locator("a").count() == 0

    def height(who: str) -> float:
        button = item(budi, who).locator("[class*='st-key-chat_open_'] button")
        expect(button).to_have_count(1, timeout=8000)  # a redraw in progress can show an item twice
        return button.bounding_box()["height"]

    assert height("Panjang") <= height("Mallory") < 30  # one line (the open chat's button has a frame)


def test_labels_popup_and_info_profile(world):
    budi = world["budi"]
    budi.locator(".st-key-chat_labels_pop_hdr button:visible").first.click()
    budi.locator(".st-key-chat_newlabel_name_hdr input").fill("VIP")
    budi.locator(".st-key-chat_newlabel_name_hdr input").press("Enter")
    settle(budi)
    budi.locator(".st-key-chat_newlabel_color_hdr button", has_text="Purple").click()
    settle(budi)
    budi.locator(".st-key-chat_newlabel_add_hdr button:visible").first.click()
    settle(budi)
    budi.locator("[class*='st-key-chat_lbl_hdr_'] label", has_text="VIP").click()
    settle(budi)
    expect(budi.locator("[class*='st-key-chat_lbl_hdr_'] input:checked")).to_have_count(1)
    budi.screenshot(path=str(DOCS / "labels.png"))
    budi.keyboard.press("Escape")
    expect(budi.locator(".st-key-chat_list_items")).to_contain_text("VIP")
    note = budi.locator("[class*='st-key-chat_note_'] textarea")
    note.fill("Sent an odd <img> tag; keep an eye on this one.")
    note.blur()
    settle(budi)
    budi.locator(".st-key-chat_note_add button:visible").first.click()
    settle(budi)
    profile = budi.locator("[data-testid=stColumn]").nth(2)
    expect(profile).to_contain_text("Sent an odd <img> tag; keep an eye on this one.")
    expect(profile.locator(".st-key-chat_profile_labels")).to_contain_text("VIP")
    expect(budi.locator("[data-testid=stToast]")).to_have_count(0, timeout=10000)
    budi.set_viewport_size({"width": 1600, "height": 1500})
    settle(budi)
    profile.screenshot(path=str(DOCS / "info-profile.png"))
    budi.set_viewport_size({"width": 1600, "height": 1000})


def test_resolve_moves_the_chat_to_unassigned(world):
    sari = world["sari"]
    tab(sari, "My Chat")
    open_chat(sari, "Rina")
    sari.locator(".st-key-resolve_hdr button:visible").first.click()
    confirm(sari)
    expect(sari.locator(".st-key-resolve_hdr button:visible").first).to_be_disabled()
    expect(item(sari, "Rina")).to_have_count(0, timeout=8000)
    tab(sari, "Unassigned")
    expect(item(sari, "Rina")).to_be_visible()


def test_archive_and_unarchive(world):
    sari = world["sari"]
    open_chat(sari, "Rina")
    sari.locator(".st-key-chat_archive button:visible").first.click()
    confirm(sari)
    expect(item(sari, "Rina")).to_have_count(0, timeout=8000)
    sari.locator(".st-key-chat_archived_btn button:visible").first.click()
    settle(sari)
    expect(item(sari, "Rina")).to_be_visible()
    sari.locator(".st-key-chat_unarchive button:visible").first.click()
    confirm(sari)
    sari.locator(".st-key-chat_archived_btn button:visible").first.click()
    settle(sari)
    expect(item(sari, "Rina")).to_be_visible(timeout=8000)


def test_closed_window_offers_only_the_template_dialog(world):
    budi = world["budi"]
    tab(budi, "All")
    open_chat(budi, "Lama Sekali")
    expect(budi.get_by_text("The 24-hour window is closed")).to_be_visible()
    expect(budi.locator("[class*='st-key-chat_draft_']")).to_have_count(0)
    budi.locator(".st-key-chat_tpl_open button:visible").first.click()
    dialog = budi.get_by_role("dialog")
    expect(dialog).to_contain_text("Send Template")
    budi.locator("[class*='st-key-chat_tpl_'][class*='_2'] input").fill("INV-42")
    budi.locator("[class*='st-key-chat_tpl_'][class*='_2'] input").press("Enter")
    settle(budi)
    expect(dialog.locator("textarea")).to_have_value("Halo Lama Sekali, pesanan INV-42 sudah kami kirim.")
    budi.screenshot(path=str(DOCS / "template-dialog.png"))
    dialog.get_by_role("button", name="Send").click()
    expect(dialog).to_be_hidden(timeout=10000)
    expect(budi.locator(".st-key-chat_thread")).to_contain_text("Halo Lama Sekali, pesanan INV-42 sudah kami kirim.")
    expect(budi.locator(".st-key-chat_thread")).to_contain_text("Business initiate")


def test_view_survives_a_page_switch_and_a_shared_link_restores_it(world):
    budi, base = world["budi"], world["base"]
    tab(budi, "All")
    q = budi.locator(".st-key-chat_q input")
    q.fill("lama")
    q.press("Enter")
    settle(budi)
    expect(item(budi, "Lama Sekali")).to_be_visible()
    expect(item(budi, "Mallory")).to_have_count(0)
    url = budi.evaluate("location.href")
    assert "q=lama" in url and "tab=All" in url and "chat=" in url
    # A supervisor (here the admin, who has other pages) opens the shared link…
    admin = budi.context.browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    login(admin, base, "admin", "admin-pass-1")
    admin.goto(url)
    expect(admin.locator(".st-key-chat_header h4")).to_contain_text("Lama Sekali", timeout=15000)
    expect(admin.locator(".st-key-chat_q input")).to_have_value("lama")
    expect(item(admin, "Mallory")).to_have_count(0)
    # …goes to another page and back: the same view.
    admin.get_by_role("link", name="Agents").click()
    expect(admin.locator(".st-key-chat_q")).to_have_count(0, timeout=10000)
    admin.get_by_role("link", name="Chat").click()
    expect(admin.locator(".st-key-chat_header h4")).to_contain_text("Lama Sekali", timeout=15000)
    expect(admin.locator(".st-key-chat_q input")).to_have_value("lama")
    assert "q=lama" in admin.evaluate("location.href")
    admin.context.close()
