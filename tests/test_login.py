"""U1: session tokens, stored revocations and epochs, one-time codes,
throttling and the login routes (maxchat_data/login/)."""
from __future__ import annotations

import threading
import time

import anyio
import pytest
from starlette.applications import Starlette

from maxchat_data import accounts, login, system
from maxchat_data.store import Store
from server import login_routes
from ui_support import ADMIN_PASSWORD, agent_named, ui_store

pytestmark = pytest.mark.both_backends  # the same rules on DuckDB and PostgreSQL

KEY = b"k" * 32


def test_token_round_trip():
    token = login.make_token(KEY, 7, now=1_000_000, hours=12)
    session = login.read_token(KEY, token, now=1_000_000 + 60)
    assert session.agent_id == 7
    assert session.expires_at - session.issued_at == 12 * 3600


def test_tampered_token_is_rejected():
    token = login.make_token(KEY, 7)
    version, payload, mac = token.split(".")
    other = login.make_token(KEY, 1).split(".")[1]           # a valid payload for agent 1 ...
    assert login.read_token(KEY, f"{version}.{other}.{mac}") is None   # ... under agent 7's signature
    flipped = mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB")
    assert login.read_token(KEY, f"{version}.{payload}.{flipped}") is None
    assert login.read_token(b"another key" * 3, token) is None
    for junk in ("", "v1.abc", "v2." + token[3:], "v1..", None, "v1.!!!.!!!"):
        assert login.read_token(KEY, junk) is None
    assert login.read_token(KEY, token).agent_id == 7


def test_token_expires():
    token = login.make_token(KEY, 7, now=1_000_000, hours=1)
    assert login.read_token(KEY, token, now=1_000_000 + 3599) is not None
    assert login.read_token(KEY, token, now=1_000_000 + 3600) is None


def test_session_hours_come_from_configuration(monkeypatch):
    monkeypatch.setenv("MAXCHAT_SESSION_HOURS", "2")
    session = login.read_token(KEY, login.make_token(KEY, 3))
    assert session.expires_at - session.issued_at == 2 * 3600
    monkeypatch.setenv("MAXCHAT_SESSION_HOURS", "not a number")
    assert login.session_hours() == login.DEFAULT_SESSION_HOURS


def test_revoked_session_is_rejected_and_stays_revoked_after_a_reopen(ui_store, tmp_path):
    token = login.start_session(ui_store, 1)
    key = login.secret_key(ui_store)
    session = login.read_token(key, token)
    assert login.active_agent(ui_store, session)["username"] == "admin"
    login.revoke(ui_store, session)
    assert login.active_agent(ui_store, session) is None
    other = login.read_token(key, login.start_session(ui_store, 1))
    assert login.active_agent(ui_store, other) is not None           # a new login is fine
    path = ui_store.path
    ui_store.close()                                                  # as on a restart
    with Store(path, tmp_path / "media") as reopened:
        assert login.read_token(key, token) == session                # still well signed ...
        assert login.active_agent(reopened, session) is None          # ... but logged out for good
        assert login.active_agent(reopened, other) is not None


@pytest.mark.parametrize("change", ["password", "deactivate"])
def test_a_password_change_or_deactivation_ends_every_session_of_that_agent(ui_store, change):
    dewi = system.create_account(ui_store, "dewi", "Dewi", "dewi-pass-1")
    key = login.secret_key(ui_store)
    tabs = [login.read_token(key, login.start_session(ui_store, dewi)) for _ in range(2)]
    admin = login.read_token(key, login.start_session(ui_store, 1))
    assert all(login.active_agent(ui_store, s) for s in tabs)
    if change == "password":
        accounts.update_agent(ui_store, dewi, 1, display_name="Dewi", role="agent", active=True,
                              password="new-dewi-pass")
    else:
        accounts.update_agent(ui_store, dewi, 1, display_name="Dewi", role="agent", active=False)
    assert [login.active_agent(ui_store, s) for s in tabs] == [None, None]
    assert login.active_agent(ui_store, admin)["username"] == "admin"   # other agents keep theirs
    if change == "password":                                            # a new login counts again
        agent, message = login.try_login(ui_store, "dewi", "new-dewi-pass", "10.0.0.1", throttle=login.Throttle())
        assert message is None
        assert login.active_agent(ui_store, login.read_token(key, login.start_session(ui_store, agent["id"])))
    accounts.update_agent(ui_store, dewi, 1, display_name="Dewi Lestari", role="agent", active=True)
    assert [login.active_agent(ui_store, s) for s in tabs] == [None, None]   # nothing brings them back


def test_one_time_code_is_single_use_and_short_lived():
    codes = login.OneTimeCodes(ttl=60)
    code = codes.issue("the-token", now=100)
    assert codes.redeem("wrong", now=101) is None
    assert codes.redeem(code, now=101) == "the-token"
    assert codes.redeem(code, now=102) is None                # used
    late = codes.issue("t2", now=100)
    assert codes.redeem(late, now=161) is None                # expired


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def fail(t, user, address, times=1):
    """Attempts that turn out wrong: reserved, never refunded."""
    return [t.reserve(user, address)[1] for _ in range(times)]


def test_throttle_slows_down_repeated_failures_per_username_and_address():
    clock = Clock()
    t = login.Throttle(user_free=3, ip_free=100, base=2, cap=60, clock=clock)
    assert fail(t, "budi", "10.0.0.1", 3) == [0, 0, 0]
    assert t.wait("budi", "10.0.0.1") == 0                    # the first three are free
    delays = []
    for _ in range(4):
        ticket, wait = t.reserve("budi", "10.0.0.1")           # the fourth is checked, and locks
        assert ticket is not None and wait == 0
        delays.append(t.wait("budi", "10.0.0.1"))
        clock.now += delays[-1]
    assert delays == [2, 4, 8, 16]                            # a doubling lock
    ticket, wait = t.reserve("budi", "10.0.0.1")
    assert t.wait("BUDI ", "10.0.0.1") == 32                  # usernames are normalised
    assert t.reserve("budi", "10.0.0.1") == (None, 32)        # locked: refused, nothing counted
    assert t.wait("budi", "10.0.0.2") == 0                    # the same user from elsewhere is not locked
    assert t.wait("sari", "10.0.0.1") == 0                    # other users are not affected
    clock.now += 32
    t.succeeded(t.reserve("budi", "10.0.0.1")[0])
    assert t.wait("budi", "10.0.0.1") == 0


def test_throttle_per_address_over_usernames_and_forgets_after_window():
    clock = Clock()
    t = login.Throttle(user_free=3, ip_free=5, base=2, cap=60, window=900, clock=clock)
    for i in range(5):
        assert fail(t, f"user{i}", "10.0.0.9") == [0]          # different usernames, one address
    fail(t, "user5", "10.0.0.9")                              # the sixth is checked, and locks
    assert t.wait("someone-else", "10.0.0.9") == 2            # the address is slowed down
    assert t.wait("someone-else", "10.0.0.10") == 0
    clock.now += 901
    assert t.reserve("user6", "10.0.0.9")[1] == 0             # old attempts forgotten


def test_loopback_is_an_address_like_any_other():
    t = login.Throttle(user_free=2, ip_free=4, base=30)
    for i in range(4):
        fail(t, f"user{i}", "127.0.0.1")
    fail(t, "user4", "127.0.0.1")
    assert t.reserve("user5", "127.0.0.1")[0] is None         # spread over usernames: still locked


def test_a_guessers_lockout_does_not_lock_the_owner_out_from_the_owners_address(ui_store):
    t = login.Throttle(user_free=3, ip_free=10, base=30)
    for _ in range(6):
        login.try_login(ui_store, "admin", "guess", "203.0.113.66", throttle=t)
    agent, message = login.try_login(ui_store, "admin", ADMIN_PASSWORD, "203.0.113.66", throttle=t)
    assert agent is None and message.startswith("Too many failed attempts")    # the guesser's address
    agent, message = login.try_login(ui_store, "admin", ADMIN_PASSWORD, "198.51.100.7", throttle=t)
    assert message is None and agent["username"] == "admin"                    # the owner's address


def test_parallel_attempts_are_counted_before_any_password_is_checked(ui_store, monkeypatch):
    """50 threads at once, one username, one address: only the free attempts
    plus the one that sets the lock may reach the password check, and never
    more than two checks run at the same time."""
    t = login.Throttle(user_free=3, ip_free=10, base=30)
    checks, running, peak, lock = [], [0], [0], threading.Lock()
    real = accounts.verify_password

    def counting(store, username, password):
        with lock:
            checks.append(username)
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            return real(store, username, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(accounts, "verify_password", counting)
    start = threading.Barrier(50)
    answers = []

    def guess(i):
        start.wait()
        answers.append(login.try_login(ui_store, "admin", f"guess-{i}", "203.0.113.5", throttle=t)[1])

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(50)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(checks) <= t.user_free + 1
    assert answers.count(login.WRONG_CREDENTIALS) == len(checks)
    assert all(a == login.WRONG_CREDENTIALS or a.startswith("Too many failed attempts") or a == login.BUSY
               for a in answers)
    assert peak[0] <= 2


def test_password_checks_are_bounded_and_the_rest_told_to_retry(ui_store, monkeypatch):
    """Many different usernames and addresses (nothing throttled): at most
    two argon2 checks at once; who waits too long is told "busy" and that
    attempt is not counted against them."""
    monkeypatch.setattr(login.flow, "VERIFY_WAIT_S", 0.05)
    real = accounts.verify_password
    running, peak, lock = [0], [0], threading.Lock()

    def slow(store, username, password):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.2)
        try:
            return real(store, username, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(accounts, "verify_password", slow)
    t = login.Throttle(user_free=0, ip_free=0, base=60)
    start = threading.Barrier(12)
    answers = {}

    def guess(i):
        start.wait()
        answers[i] = login.try_login(ui_store, f"user{i}", "pw", f"10.1.0.{i}", throttle=t)[1]

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert peak[0] == 2
    busy = [i for i, a in answers.items() if a == login.BUSY]
    assert busy and len(busy) < 12
    for i in busy:                                          # refunded: free to try again at once
        assert t.wait(f"user{i}", f"10.1.0.{i}") == 0


def test_client_address_trusts_forwarded_for_only_from_a_trusted_proxy(monkeypatch):
    monkeypatch.setenv("MAXCHAT_TRUSTED_PROXIES", "10.0.0.2, 192.168.0.0/16, not-an-ip")
    assert login.client_address("203.0.113.9", "1.2.3.4") == "203.0.113.9"          # not a proxy: its own address
    assert login.client_address("127.0.0.1", "1.2.3.4") == "127.0.0.1"              # loopback is not special
    assert login.client_address("10.0.0.2", "198.51.100.4") == "198.51.100.4"
    assert login.client_address("10.0.0.2", "6.6.6.6, 198.51.100.4, 192.168.1.1") == "198.51.100.4"
    assert login.client_address("10.0.0.2", None) == "10.0.0.2"
    assert login.client_address("10.0.0.2", "garbage") == "10.0.0.2"
    monkeypatch.delenv("MAXCHAT_TRUSTED_PROXIES")
    assert login.client_address("10.0.0.2", "198.51.100.4") == "10.0.0.2"         # none trusted by default


def test_try_login_refuses_while_locked_even_with_the_right_password(ui_store):
    t = login.Throttle(user_free=2, ip_free=100, base=30)
    for _ in range(2):
        assert login.try_login(ui_store, "admin", "nope", throttle=t) == (None, login.WRONG_CREDENTIALS)
    assert login.try_login(ui_store, "ghost", "nope", throttle=t) == (None, login.WRONG_CREDENTIALS)
    agent, message = login.try_login(ui_store, "admin", "nope", throttle=t)   # third attempt: checked, locks
    assert agent is None and message == login.WRONG_CREDENTIALS
    agent, message = login.try_login(ui_store, "admin", ADMIN_PASSWORD, throttle=t)
    assert agent is None and message.startswith("Too many failed attempts")
    t.reset()
    agent, message = login.try_login(ui_store, "admin", ADMIN_PASSWORD, throttle=t)
    assert agent["username"] == "admin" and message is None


def test_a_correct_login_is_not_counted_against_its_address(ui_store):
    t = login.Throttle(user_free=3, ip_free=2, base=30)
    for _ in range(5):                                      # an office behind one address, all logging in fine
        assert login.try_login(ui_store, "admin", ADMIN_PASSWORD, "10.9.9.9", throttle=t)[1] is None
    assert t.wait("budi", "10.9.9.9") == 0


def test_deactivated_is_said_only_after_the_right_password(ui_store):
    budi = system.create_account(ui_store, "budi2", "Budi", "budi-pass-2")
    accounts.update_agent(ui_store, budi, 1, display_name="Budi", role="agent", active=False)
    t = login.Throttle()
    assert login.try_login(ui_store, "budi2", "wrong-pass", "10.0.0.1", throttle=t) == (None, login.WRONG_CREDENTIALS)
    assert login.try_login(ui_store, "budi2", "budi-pass-2", "10.0.0.1", throttle=t) == (None, login.DEACTIVATED)


def test_secret_key_is_generated_once_and_kept(ui_store, monkeypatch):
    key = login.secret_key(ui_store)
    assert len(key) == 64
    login._keys.clear()                                       # as after a restart
    assert login.secret_key(ui_store) == key
    monkeypatch.setenv("MAXCHAT_SECRET_KEY", "from-the-environment")
    assert login.secret_key(ui_store) == b"from-the-environment"


def test_active_agent_rechecks_the_account(ui_store):
    budi = system.create_account(ui_store, "dewi", "Dewi", "dewi-pass-1")
    session = login.read_token(KEY, login.make_token(KEY, budi))
    assert login.active_agent(ui_store, session)["username"] == "dewi"
    accounts.update_agent(ui_store, budi, agent_named(ui_store, "admin")["id"], display_name="Dewi", role="agent",
                          active=False)
    assert login.active_agent(ui_store, session) is None
    assert login.active_agent(ui_store, None) is None


# ---- the routes -------------------------------------------------------------
class Response:
    def __init__(self, status, headers):
        self.status_code = status
        self.headers = {}
        for k, v in headers:
            self.headers.setdefault(k.decode().lower(), v.decode())


class Client:
    """A tiny ASGI client (starlette's TestClient needs a package we do not
    ship): one request, no redirects followed, cookies kept like a browser."""

    def __init__(self, app):
        self.app, self.cookies = app, {}

    def request(self, method, path, form=None, headers=None):
        body = "&".join(f"{k}={v}" for k, v in (form or {}).items()).encode()
        hdrs = {"host": "testserver", "origin": "http://testserver",      # what a browser sends with a form POST
                "content-type": "application/x-www-form-urlencoded", **(headers or {})}
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        if self.cookies:
            hdrs["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        scope = {"type": "http", "http_version": "1.1", "method": method, "scheme": "http", "path": path,
                 "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in hdrs.items()],
                 "server": ("testserver", 80), "client": ("127.0.0.1", 5000)}
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        got = {}

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                got["status"], got["headers"] = message["status"], message["headers"]

        anyio.run(self.app, scope, receive, send)
        response = Response(got["status"], got["headers"])
        cookie = response.headers.get("set-cookie")
        if cookie:
            name, value = cookie.split(";")[0].split("=", 1)
            if "Max-Age=0" in cookie:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def post(self, path, data=None, headers=None):
        return self.request("POST", path, data, headers)

    def get(self, path, headers=None):
        return self.request("GET", path, None, headers)


@pytest.fixture
def client(ui_store):
    return Client(Starlette(routes=login_routes.routes()))


def _code_for(store, agent_id):
    token = login.make_token(login.secret_key(store), agent_id)
    return token, login.CODES.issue(token)


def test_session_route_sets_an_httponly_lax_cookie_once(client, ui_store):
    token, code = _code_for(ui_store, 1)
    r = client.post("/auth/session", data={"code": code})
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{login.COOKIE_NAME}={token};")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    max_age = int(cookie.lower().split("max-age=")[1].split(";")[0])
    assert 12 * 3600 - 60 < max_age <= 12 * 3600
    again = client.post("/auth/session", data={"code": code})
    assert again.status_code == 303 and again.headers["location"] == "/?login=expired"
    assert "set-cookie" not in again.headers


def test_session_route_refuses_a_cross_site_post(client, ui_store):
    _, code = _code_for(ui_store, 1)
    r = client.post("/auth/session", data={"code": code}, headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    for origin in ("null", None):       # a sandboxed frame / data: page, or no browser at all
        r = client.post("/auth/session", data={"code": code}, headers={"origin": origin})
        assert r.status_code == 403 and "set-cookie" not in r.headers
    ok = client.post("/auth/session", data={"code": code}, headers={"origin": "http://testserver"})
    assert ok.status_code == 303 and login.COOKIE_NAME in ok.headers["set-cookie"]


def test_logout_route_clears_the_cookie_and_revokes_the_session(client, ui_store):
    token, code = _code_for(ui_store, 1)
    client.post("/auth/session", data={"code": code})
    assert client.cookies[login.COOKIE_NAME] == token
    r = client.post("/auth/logout")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert r.headers["set-cookie"].startswith(f'{login.COOKIE_NAME}=""') and "Max-Age=0" in r.headers["set-cookie"]
    assert login.COOKIE_NAME not in client.cookies
    session = login.read_token(login.secret_key(ui_store), token)
    assert login.active_agent(ui_store, session) is None                 # a copied cookie is dead too


def test_no_link_or_other_site_can_log_anyone_out(client, ui_store):
    """Issue 17: a cross-site GET (a link, an <img>, a top-level redirect)
    used to end the session. Now only a POST from our own pages does."""
    token, code = _code_for(ui_store, 1)
    client.post("/auth/session", data={"code": code})
    session = login.read_token(login.secret_key(ui_store), token)
    for headers in ({"origin": None}, {"origin": "https://evil.example"}):   # a navigation sends no Origin
        r = client.get("/auth/logout", headers=headers)
        assert r.status_code == 405 and "set-cookie" not in r.headers
    for origin in ("https://evil.example", "null", None, "http://testserver.evil.example"):
        r = client.post("/auth/logout", headers={"origin": origin})
        assert r.status_code == 403 and "set-cookie" not in r.headers, origin
    assert client.cookies[login.COOKIE_NAME] == token
    assert login.active_agent(ui_store, session) is not None             # still logged in
