"""Issue 18, "the first hour, fixed": what a new agent hits in their first
hour on a laptop screen (1366×768), checked by geometry and behaviour in
a real browser against the real server in demo mode.

One server and two logins for the file (an agent, then an admin); the
tests run in file order, each on the page the one before left."""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from live_server import live_server
from maxchat_data import accounts, actions, emoji, quick_replies, system
from maxchat_data.ingest import Inbound, receive
from maxchat_data.labels import PALETTE
from maxchat_data.store import Store, utcnow

playwright = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright

from test_browser_chat import CHROMIUM, LAPTOP, item, login, open_chat, picture, settle, tab

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
LONG = "Raden Ajeng Kartini Wulandari Setyaningrum Putri"  # 48 characters
HEIGHT, WIDTH = LAPTOP["height"], LAPTOP["width"]
TEAM_TZ = "Asia/Jakarta"
# Nothing in the element is cut: no box inside it is narrower than its text.
WHOLE = "e => [e, ...e.querySelectorAll('*')].every(x => x.scrollWidth <= x.clientWidth + 1)"
# The text an input shows (its value, else its placeholder) when all of it fits in the box, else "cut: …".
FITS = """e => { const s = getComputedStyle(e), text = e.value || e.placeholder;
  const c = document.createElement('canvas').getContext('2d');
  c.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
  const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  return c.measureText(text).width <= room ? text : `cut: ${text} (${c.measureText(text).width} > ${room})`; }"""


@pytest.fixture(scope="module")
def hour(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("first_hour")
    store = Store(tmp / "server.duckdb", tmp / "media")
    try:
        admin = accounts.bootstrap_admin(store, "admin", "admin-pass-1")
        quick_replies.create(store, admin, "/salam", "Selamat siang {{contact.name}}, ada yang bisa dibantu?",
                             shared=True)
        dewi = system.create_account(store, "dewi", "Dewi Lestari", "dewi-pass-1")
        system.create_account(store, "joko", "Joko Susilo Wibisono", "joko-pass-1")  # never logs in: Offline
        now = utcnow()
        asked = (now - timedelta(minutes=20)).replace(second=0, microsecond=0)
        long_chat = receive(store, Inbound(channel="telegram", channel_user_id="810", contact_name=LONG,
                                           provider_message_id="810:1", body="Halo kak, barangnya masih ada?",
                                           sent_at=asked)).chat_id
        actions.reply(store, long_chat, dewi, "Masih ada kak, mau pesan berapa?")  # the sandbox delivers it
        receive(store, Inbound(channel="telegram", channel_user_id="811", contact_name="Pelanggan Dua",
                               provider_message_id="811:1", body="Ongkirnya berapa ke Bandung?",
                               sent_at=now - timedelta(minutes=10)))
    finally:
        store.close()
    with live_server(tmp, env={"MAXCHAT_TIMEZONE": TEAM_TZ}, demo=True) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        # The agent's laptop is on another clock than the team's.
        page = browser.new_context(viewport=LAPTOP, timezone_id="Europe/London").new_page()
        login(page, base, "dewi", "dewi-pass-1")
        tab(page, "All")
        yield {"base": base, "page": page, "browser": browser, "tmp": tmp, "asked": asked}
        browser.close()


def one(page, selector: str):
    """The element a person sees (a redraw can briefly hold a stale copy)."""
    return page.locator(f"{selector}:visible").first


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found, locator
    return found


def in_view(b: dict) -> bool:
    return b["x"] >= 0 and b["y"] >= 0 and b["x"] + b["width"] <= WIDTH + 0.5 and b["y"] + b["height"] <= HEIGHT + 0.5


def overlaps(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def header(page):
    return page.locator(".st-key-chat_header h4")


def long_chat_open(page) -> None:
    """Each test stands on its own: the long-named chat open (by its name's button)."""
    if LONG[:20] not in " ".join(header(page).all_inner_texts()):
        open_chat(page, LONG[:20])


def test_1_a_click_anywhere_on_a_card_opens_the_chat_and_the_open_card_stands_out(hour):
    page = hour["page"]
    expect(header(page)).to_have_count(0)  # no chat open yet
    for name, line in (("Pelanggan Dua", "Ongkirnya berapa"), (LONG, "Masih ada kak")):
        card = item(page, name)
        expect(card).to_have_count(1, timeout=8000)
        settle(page)
        # The preview line, not the name's button: a real mouse click where a person reads the message.
        preview = box(card.get_by_text(line))
        page.mouse.click(preview["x"] + preview["width"] / 2, preview["y"] + preview["height"] / 2)
        expect(header(page)).to_contain_text(name[:20], timeout=8000)
        settle(page)
    # The open card is framed and tinted; the others are not.
    look = "e => { const s = getComputedStyle(e); return [s.boxShadow, s.backgroundColor]; }"
    shadow, background = item(page, LONG).evaluate(look)
    other_shadow, other_background = item(page, "Pelanggan Dua").evaluate(look)
    assert "inset" in shadow and other_shadow == "none"
    assert background != other_background


def test_4_a_long_name_is_cut_with_an_ellipsis_and_keeps_resolve_and_send_in_view(hour):
    page = hour["page"]
    long_chat_open(page)
    h4 = header(page)
    style = h4.evaluate("e => { const s = getComputedStyle(e); return [s.textOverflow, s.whiteSpace, "
                        "e.scrollWidth > e.clientWidth, e.getBoundingClientRect().height, parseFloat(s.lineHeight)]; }")
    overflow, white_space, cut, height, line = style
    assert overflow == "ellipsis" and white_space == "nowrap" and cut  # cut, not wrapped
    assert height < 1.5 * line  # one line
    resolve, plus, name = box(one(page, ".st-key-resolve_hdr button")), box(
        one(page, ".st-key-chat_labels_pop_hdr button")), box(h4)
    assert in_view(resolve) and in_view(plus)
    assert resolve["y"] < name["y"] + name["height"] and name["y"] < resolve["y"] + resolve["height"]  # one row
    assert name["x"] + name["width"] <= plus["x"]  # the name gives way, the buttons keep their place
    assert in_view(box(one(page, ".st-key-chat_send button")))
    main = page.locator("[data-testid=stMain]")
    assert main.evaluate("e => e.scrollHeight - e.clientHeight") <= 2  # the page itself needs no scrolling


def test_9_the_customer_writes_on_the_left_and_the_team_on_the_right(hour):
    page = hour["page"]
    long_chat_open(page)
    thread = one(page, ".st-key-chat_thread")
    customer = thread.locator("[data-testid=stChatMessage]", has_text="barangnya masih ada")
    team = thread.locator("[data-testid=stChatMessage]", has_text="mau pesan berapa")
    expect(team).to_have_count(1, timeout=8000)
    frame, mine, theirs = box(thread), box(team), box(customer)
    assert theirs["x"] - frame["x"] < 30  # against the left edge
    assert frame["x"] + frame["width"] - (mine["x"] + mine["width"]) < 30  # against the right edge
    assert mine["x"] > theirs["x"] + 40 and mine["width"] < frame["width"] * 0.9  # bubbles, not full rows
    colour = "e => getComputedStyle(e).backgroundColor"
    assert team.evaluate(colour) != customer.evaluate(colour)


def test_10_chat_times_are_in_the_teams_timezone_whatever_the_laptops(hour):
    page = hour["page"]
    long_chat_open(page)
    asked = hour["asked"]
    team_time, laptop_time = (asked.astimezone(ZoneInfo(z)).strftime("%H:%M") for z in (TEAM_TZ, "Europe/London"))
    assert team_time != laptop_time
    message = one(page, ".st-key-chat_thread [data-testid=stChatMessage]:has-text('barangnya masih ada')")
    expect(message).to_contain_text(team_time)
    expect(message).not_to_contain_text(laptop_time)


def test_2_what_a_send_did_shows_beside_the_composer_in_view(hour):
    page, tmp = hour["page"], hour["tmp"]
    long_chat_open(page)
    draft = one(page, "[class*='st-key-chat_draft_'] textarea")
    before = box(draft)
    feedback = page.locator(".st-key-chat_feedback:visible")

    def said_beside_the_composer(text: str) -> None:
        expect(feedback).to_contain_text(text, timeout=8000)
        said, now, frame = box(feedback.first), box(draft), box(one(page, ".st-key-chat_thread"))
        assert in_view(said), said
        assert said["y"] + said["height"] <= now["y"] + 1 and now["y"] - (said["y"] + said["height"]) < 20  # just above
        assert frame["x"] - 1 <= said["x"] and said["x"] + said["width"] <= frame["x"] + frame["width"] + 1
        assert abs(now["y"] - before["y"]) < 1  # laid over the thread: the composer did not move
        assert in_view(box(one(page, ".st-key-chat_send button")))

    # An unknown quick reply.
    draft.click()
    draft.press_sequentially("/tidakada")
    draft.press("Enter")
    said_beside_the_composer("No quick reply /tidakada")
    draft.fill("")
    draft.blur()
    settle(page)
    expect(feedback).to_have_count(0)
    # An empty send.
    one(page, ".st-key-chat_send button").click()
    said_beside_the_composer("Type a message first.")
    time.sleep(3)  # a live refresh (2.5 s) leaves it where it is
    said_beside_the_composer("Type a message first.")
    def send_file(path):
        one(page, ".st-key-chat_attach_pop button").click()
        page.locator("[class*='st-key-chat_upload_'] input[type=file]").set_input_files(str(path))
        expect(page.locator("[class*='st-key-chat_upload_']")).to_contain_text(path.name, timeout=10000)
        settle(page)
        page.locator(".st-key-chat_send_file button:visible").first.click()

    # A refused file: the clip's pop-up closes so that the reason is in sight.
    bad = tmp / "setup.exe"
    bad.write_bytes(b"MZ\x90\x00" + b"\x00" * 300)
    send_file(bad)
    said_beside_the_composer("setup.exe is not a document, image or video")
    expect(page.locator(".st-key-chat_send_file button:visible")).to_have_count(0)
    # A file that goes: queued, said in the same place; the ✕ puts it away.
    good = tmp / "foto.png"
    good.write_bytes(picture())
    send_file(good)
    said_beside_the_composer("foto.png is queued")
    one(page, ".st-key-chat_feedback_close button").click()
    expect(feedback).to_have_count(0, timeout=8000)
    expect(page.locator(".st-key-chat_thread [data-testid=stImage] img")).to_have_count(1, timeout=8000)


def test_7_the_composer_one_hint_slash_lists_quick_replies_an_emoji_goes_in_at_the_caret(hour):
    page = hour["page"]
    long_chat_open(page)
    draft = one(page, "[class*='st-key-chat_draft_'] textarea")
    draft.click()
    draft.press_sequentially("x")
    expect(draft).to_have_attribute("placeholder", "Type a message… Enter sends, Shift+Enter for a new line")
    # Streamlit's own "Ctrl+Enter to apply" would contradict it: not shown.
    assert page.locator("[class*='st-key-chat_draft_'] [data-testid=InputInstructions]:visible").count() == 0
    draft.press("Backspace")
    # "/" in an empty box lists the quick replies, above the box; typing on, Enter, then a click inserts one.
    draft.press_sequentially("/")
    matches = page.locator(".st-key-chat_feedback .st-key-chat_qr_matches:visible")
    expect(matches).to_contain_text("/salam", timeout=8000)
    assert in_view(box(matches.first))
    expect(draft).to_be_focused()  # still typing
    draft.press_sequentially("sal")
    draft.press("Enter")
    matches.first.get_by_role("button", name="/salam").click()
    expect(draft).to_have_value(f"Selamat siang {LONG}, ada yang bisa dibantu?", timeout=8000)
    # An emoji goes where the caret is, and its pop-up closes.
    draft.fill("Halo kak")
    draft.click()
    draft.press("Home")
    for _ in range(4):
        draft.press("ArrowRight")
    one(page, ".st-key-chat_emoji_pop button").click()
    page.locator(".st-key-chat_emoji_0 button").click()
    expect(draft).to_have_value(f"Halo{emoji.PICKER[0]} kak")
    expect(page.locator("[data-testid=stPopoverBody]:visible")).to_have_count(0, timeout=5000)
    draft.press_sequentially("!")  # typing goes on right after it
    expect(draft).to_have_value(f"Halo{emoji.PICKER[0]}! kak")
    settle(page)
    draft.fill("")
    draft.blur()
    settle(page)


def test_11_a_sandbox_channel_says_so_in_the_composer(hour):
    page = hour["page"]
    long_chat_open(page)
    badge = one(page, ".st-key-chat_composer_tools .stMarkdownBadge")
    expect(badge).to_contain_text("Sandbox (demo)")
    assert in_view(box(badge)) and in_view(box(one(page, ".st-key-chat_send button")))
    expect(page.get_by_text("cannot be sent until an admin connects it")).to_have_count(0)


def test_3_the_notes_box_is_visible_and_takes_a_note(hour):
    page = hour["page"]
    long_chat_open(page)
    note = one(page, "[class*='st-key-chat_note_'] textarea")
    note.scroll_into_view_if_needed()
    found, add = box(note), box(one(page, ".st-key-chat_note_add button"))
    assert found["height"] >= 60 and in_view(found)
    assert found["y"] + found["height"] <= add["y"]  # above `Add notes`, not under it
    # Nothing lies over it: the point a person clicks is the box itself.
    assert note.evaluate("e => { const r = e.getBoundingClientRect();"
                         " return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === e; }")
    note.click()
    page.keyboard.type("Minta dikirim lewat JNE.")
    note.blur()
    settle(page)
    one(page, ".st-key-chat_note_add button").click()
    settle(page)
    expect(page.locator(".st-key-chat_profile_pane")).to_contain_text("Minta dikirim lewat JNE.")


def test_8_no_control_is_cut_and_no_pop_up_covers_the_chat_list(hour):
    page = hour["page"]
    long_chat_open(page)
    chat_list = box(one(page, ".st-key-chat_list_items"))
    # The search box shows its whole placeholder; the assign dropdowns (header and Info Profile) a whole
    # name, the header's with its availability, closed and open.
    assert one(page, ".st-key-chat_q input").evaluate(FITS) == "Search by Name"
    assert one(page, "[class*='st-key-assign_hdr_'] input").evaluate(FITS) == "🟢 Dewi Lestari · Online"
    assert one(page, "[class*='st-key-assign_prof_'] input").evaluate(FITS) == "🟢 Dewi Lestari"
    one(page, "[class*='st-key-assign_hdr_'] input").click()
    options = page.get_by_role("option")
    expect(options.filter(has_text="Joko Susilo Wibisono · Offline")).to_have_count(1)
    for i in range(options.count()):
        assert options.nth(i).evaluate(WHOLE), options.nth(i).inner_text()
    page.keyboard.press("Escape")
    settle(page)
    # Pop-ups open beside the list, never over it: labels (header and profile), filter, emoji.
    for pop in (".st-key-chat_labels_pop_hdr", ".st-key-chat_labels_pop_prof", ".st-key-chat_filter_pop",
                ".st-key-chat_emoji_pop"):
        one(page, f"{pop} button").click()
        body = page.locator("[data-testid=stPopoverBody]:visible")
        expect(body).to_have_count(1, timeout=5000)
        time.sleep(0.3)  # placed after it is drawn
        assert not overlaps(box(body), chat_list), pop
        if pop == ".st-key-chat_labels_pop_hdr":
            # Label colours are chosen from swatches: each choice shows its colour.
            pills = body.locator("[class*='st-key-swatches_'] button")
            expect(pills).to_have_count(len(PALETTE))
            shown = [pills.nth(i).evaluate("e => getComputedStyle(e, '::before').backgroundColor")
                     for i in range(len(PALETTE))]
            assert shown == [_rgb(hex_) for hex_ in PALETTE.values()]
        page.keyboard.press("Escape")
        expect(body).to_have_count(0, timeout=5000)
        settle(page)


def _rgb(hex_: str) -> str:
    return "rgb({}, {}, {})".format(*(int(hex_[i:i + 2], 16) for i in (1, 3, 5)))


def test_5_8_11_the_admin_sees_availability_swatches_and_the_sandbox(hour):
    page, base = hour["page"], hour["base"]
    # Logged in and using the page: Online, without choosing it.
    expect(page.locator(".st-key-team_availability button", has_text="Online")).to_have_attribute("aria-checked", "true")
    admin = hour["browser"].new_context(viewport=LAPTOP).new_page()
    login(admin, base, "admin", "admin-pass-1")
    # The Monitor: each agent's real availability.
    admin.get_by_role("link", name="Monitor").click()
    settle(admin)
    agents = admin.locator("[data-testid=stDataFrame]").first  # the first table: "Open chats by agent"
    expect(agents.locator("td", has_text="Dewi Lestari")).to_have_count(1, timeout=10000)
    expect(admin.get_by_text("not tracked")).to_have_count(0)
    rows = {r["Agent"]: r["Availability"] for r in _table(agents)}
    assert rows["Dewi Lestari"].endswith("Online") and rows["Administrator"].endswith("Online")
    assert rows["Joko Susilo Wibisono"].endswith("Offline")
    # Channels: the sandbox, not "Not connected".
    admin.get_by_role("link", name="Channels").click()
    settle(admin)
    badges = admin.locator("[class*='st-key-channel_'] .stMarkdownBadge")
    expect(badges).to_have_count(3, timeout=10000)
    for i in range(3):
        expect(badges.nth(i)).to_contain_text("Sandbox (demo)")
    expect(admin.get_by_text("Not connected")).to_have_count(0)
    # Labels: a colour picked by its swatch.
    admin.get_by_role("link", name="Labels").click()
    settle(admin)
    pills = admin.locator(".st-key-swatches_label_color button")
    expect(pills).to_have_count(len(PALETTE), timeout=10000)
    teal = list(PALETTE).index("Teal")
    assert pills.nth(teal).evaluate("e => getComputedStyle(e, '::before').backgroundColor") == _rgb(PALETTE["Teal"])
    admin.locator(".st-key-label_name input").fill("Grosir")
    pills.nth(teal).click()
    admin.get_by_role("button", name="Add").click()
    settle(admin)
    expect(admin.get_by_text("Label Grosir added.")).to_be_visible(timeout=8000)
    row = admin.locator("[class*='st-key-label_row_']", has_text="Grosir")
    assert row.locator("span").first.evaluate("e => getComputedStyle(e).backgroundColor") == _rgb(PALETTE["Teal"])
    admin.context.close()


def _table(locator) -> list[dict]:
    """The rows of a small st.dataframe as dicts, from the table it keeps for screen readers."""
    return locator.evaluate(
        "e => { const rows = [...e.querySelectorAll('tr')].map(r => [...r.querySelectorAll('th,td')]"
        ".map(c => c.textContent.trim()));"
        " const head = rows.shift(); return rows.map(r => Object.fromEntries(head.map((h, i) => [h, r[i]]))); }")


def _choose_language(page, name: str) -> None:
    page.locator(".st-key-ui_language").click()
    page.get_by_role("option", name=name).click()
    settle(page)


def test_language_the_sidebar_picker_switches_the_chat_page_at_once(hour):
    """Issue 18: the agent picks Bahasa Indonesia in the sidebar; the open
    Chat page reruns in Indonesian without logging out; back to English."""
    page = hour["page"]
    long_chat_open(page)
    _choose_language(page, "Bahasa Indonesia")
    expect(page.get_by_role("button", name="Chat baru")).to_be_visible(timeout=10000)
    expect(page.locator(".st-key-chat_header_meta")).to_contain_text("Dijawab · timer Channel ini tidak punya jendela balasan")
    expect(page.locator("[class*='st-key-chat_draft_'] textarea")).to_have_attribute(
        "placeholder", "Ketik pesan… Enter mengirim, Shift+Enter untuk baris baru")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Kotak masuk")  # the navigation's section
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()
    expect(page.get_by_role("button", name="New chat")).to_have_count(0)
    expect(header(page)).to_contain_text(LONG[:20])  # the same chat stays open
    _choose_language(page, "English")
    expect(page.get_by_role("button", name="New chat")).to_be_visible(timeout=10000)
    expect(page.locator(".st-key-chat_header_meta")).to_contain_text("Answered · timer No reply window on this channel")
    expect(page.get_by_role("button", name="Chat baru")).to_have_count(0)
