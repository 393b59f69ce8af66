"""U1/U2 end to end: the real server (tests/live_server.py) driven by
Playwright in Debian's chromium. Log in, survive a reload, log out; a wrong
password gets the message; a copied cookie is dead after logout; an admin
adds an agent who then sees no admin pages; a logged-out cookie stays dead
across a restart; a Streamlit session id without the cookie takes over
nothing. Saves docs/login.png and docs/admin-agents.png for the README."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from live_server import live_server
from screenshots import DOCS

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
COOKIE = "maxchat_session"


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("browser")  # the server's log is server.log here


@pytest.fixture(scope="module")
def base_url(server_dir):
    with live_server(server_dir) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


def idle(page):
    page.wait_for_selector(IDLE, timeout=20_000)


def open_app(page, url):
    page.goto(url)
    idle(page)


def fill_login(page, username, password):
    expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=20_000)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    idle(page)


def logged_in_as(page, text):
    expect(page.get_by_test_id("stSidebar").get_by_text(text)).to_be_visible(timeout=20_000)
    idle(page)


def session_cookie(page):
    return next((c for c in page.context.cookies() if c["name"] == COOKIE), None)


def test_first_request_for_an_admin_url_gets_the_login_form(page, base_url):
    # The server's very first script run: a page's file name in the URL must
    # not run it around the gate. Streamlit serves the files of a folder named
    # pages/ beside the main script that way until st.navigation first runs
    # (old-style multipage); the views live in app_pages/ (test_admin_pages).
    open_app(page, base_url + "/agents")
    expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("heading", name="Agents")).to_have_count(0)


def test_wrong_password_shows_the_message(page, base_url):
    open_app(page, base_url)
    fill_login(page, "admin", "not-the-password")
    expect(page.get_by_text("Wrong username or password.")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("textbox", name="Username")).to_have_value("admin")   # kept for the next try
    expect(page.get_by_role("textbox", name="Password")).to_have_value("")
    assert session_cookie(page) is None
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)   # nothing of the app behind the gate


def test_login_survives_reload_until_logout(page, base_url):
    open_app(page, base_url)
    page.get_by_role("textbox", name="Username").fill("admin")
    page.screenshot(path=str(DOCS / "login.png"))
    page.get_by_role("textbox", name="Password").fill("admin-pass-1")
    page.get_by_role("button", name="Log in").click()
    logged_in_as(page, "Administrator (admin)")

    cookie = session_cookie(page)
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.reload()
    idle(page)
    logged_in_as(page, "Administrator (admin)")
    expect(page.get_by_role("textbox", name="Password")).to_have_count(0)

    # A link to the logout route (from anywhere) logs nobody out: logout is a POST from the app (issue 17).
    page.goto(base_url + "/auth/logout")
    idle(page)
    logged_in_as(page, "Administrator (admin)")
    assert session_cookie(page) == cookie

    page.get_by_test_id("stSidebar").get_by_role("button", name="Logout").click()
    expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=20_000)
    page.wait_for_url(base_url + "/", timeout=20_000)
    idle(page)
    assert session_cookie(page) is None

    page.reload()
    idle(page)
    expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=20_000)

    # A copy of the old cookie is refused after logout (the session was revoked).
    page.context.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path", "httpOnly", "sameSite")}])
    page.reload()
    idle(page)
    expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)


def test_admin_adds_an_agent_who_sees_no_admin_pages(page, base_url):
    open_app(page, base_url)
    fill_login(page, "admin", "admin-pass-1")
    logged_in_as(page, "Administrator (admin)")
    page.get_by_test_id("stSidebar").get_by_role("link", name="Agents").click()
    expect(page.get_by_role("heading", name="Agents")).to_be_visible(timeout=20_000)
    idle(page)
    form = page.get_by_test_id("stForm").first
    form.get_by_role("textbox", name="Username").fill("rina")
    form.get_by_role("textbox", name="Display name").fill("Rina Kusuma")
    form.get_by_role("textbox", name="Password").fill("rina-pass-1")
    form.get_by_role("button", name="Add agent").click()
    expect(page.get_by_text("Agent rina created.")).to_be_visible(timeout=20_000)
    idle(page)
    page.screenshot(path=str(DOCS / "admin-agents.png"), full_page=True)

    page.get_by_test_id("stSidebar").get_by_role("link", name="Labels").click()
    expect(page.get_by_role("heading", name="Labels")).to_be_visible(timeout=20_000)
    idle(page)
    for name, color in (("VIP", "Purple"), ("Complaint", "Red")):
        page.get_by_role("textbox", name="Label Name").fill(name)
        page.locator(".st-key-label_color").get_by_text(color, exact=True).click()
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.get_by_text(f"Label {name} added.")).to_be_visible(timeout=20_000)
        idle(page)
    page.screenshot(path=str(DOCS / "admin-labels.png"), full_page=True)

    page.get_by_test_id("stSidebar").get_by_role("button", name="Logout").click()
    expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=20_000)
    page.wait_for_url(base_url + "/", timeout=20_000)
    idle(page)
    fill_login(page, "rina", "rina-pass-1")
    logged_in_as(page, "Rina Kusuma (agent)")
    nav = page.get_by_test_id("stSidebarNav")
    for admin_page in ("Agents", "Labels", "Templates", "Channels"):
        expect(nav.get_by_role("link", name=admin_page)).to_have_count(0)
    page.goto(base_url + "/agents")                 # typing the URL does not help either
    idle(page)
    logged_in_as(page, "Rina Kusuma (agent)")
    expect(page.get_by_role("heading", name="Agents")).to_have_count(0)


def replay(page, cookie):
    page.context.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path", "httpOnly", "sameSite")}])


def test_a_logged_out_cookie_stays_dead_after_a_restart(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        with live_server(tmp_path) as base:
            open_app(page, base)
            fill_login(page, "admin", "admin-pass-1")
            logged_in_as(page, "Administrator (admin)")
            cookie = session_cookie(page)
            page.get_by_test_id("stSidebar").get_by_role("button", name="Logout").click()
            expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=20_000)
            page.wait_for_url(base + "/", timeout=20_000)
        with live_server(tmp_path) as base:            # same database, new process
            replay(page, {**cookie, "domain": "127.0.0.1"})
            open_app(page, base)
            expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=20_000)
            expect(page.get_by_test_id("stSidebar")).to_have_count(0)
    finally:
        context.close()


def _session_ids(page) -> list[str]:
    """The Streamlit session ids the server hands this page (in NewSession
    messages): what an upload URL shows to a proxy log."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    found = []

    def frame(payload):
        if isinstance(payload, (bytes, bytearray)):
            msg = ForwardMsg()
            msg.ParseFromString(bytes(payload))
            if msg.WhichOneof("type") == "new_session" and msg.new_session.initialize.session_id:
                found.append(msg.new_session.initialize.session_id)

    page.on("websocket", lambda ws: ws.on("framereceived", frame))
    return found


def test_a_streamlit_session_id_without_the_cookie_takes_over_nothing(browser, base_url, server_dir):
    victim_context = browser.new_context(viewport={"width": 1280, "height": 800})
    thief_context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        victim = victim_context.new_page()
        ids = _session_ids(victim)
        open_app(victim, base_url)
        fill_login(victim, "admin", "admin-pass-1")
        logged_in_as(victim, "Administrator (admin)")
        assert ids
        # The thief's browser asks to resume the victim's session (the third
        # websocket subprotocol, as Streamlit's own reconnect does), with no cookie.
        thief_context.add_init_script("""(() => {
            const Real = window.WebSocket;
            function Resume(url, protocols) { return new Real(url, [protocols[0], protocols[1], %s]); }
            Resume.prototype = Real.prototype;
            Object.assign(Resume, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
            window.WebSocket = Resume;
        })();""" % json.dumps(ids[-1]))
        thief = thief_context.new_page()
        open_app(thief, base_url)
        expect(thief.get_by_role("textbox", name="Username")).to_be_visible(timeout=20_000)
        expect(thief.get_by_test_id("stSidebar")).to_have_count(0)
        expect(thief.get_by_text("Administrator (admin)")).to_have_count(0)
        # Nor is the victim's session disturbed: it is never handed to the
        # thief's websocket (which disconnected the victim, whose reconnect
        # took it back, and so on), and the victim stays logged in.
        log = (server_dir / "server.log").read_text()
        assert f"Session with id {ids[-1]} is already connected" not in log
        logged_in_as(victim, "Administrator (admin)")
    finally:
        thief_context.close()
        victim_context.close()
