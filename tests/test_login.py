"""U1: session tokens, one-time codes, throttling and the login routes
(maxchat_data/login.py)."""
from __future__ import annotations


import anyio
import pytest
from starlette.applications import Starlette

from maxchat_data import accounts, login
from server import login_routes
from ui_support import ADMIN_PASSWORD, ui_store  # noqa: F401

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


def test_revoked_session_is_rejected():
    token = login.make_token(KEY, 7)
    session = login.read_token(KEY, token)
    login.REVOKED.revoke(session)
    try:
        assert login.read_token(KEY, token) is None
        assert login.read_token(KEY, login.make_token(KEY, 7)) is not None  # a new login is fine
    finally:
        login.REVOKED.clear()


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


def test_throttle_slows_down_repeated_failures_per_username():
    clock = Clock()
    t = login.Throttle(user_free=3, ip_free=100, base=2, cap=60, clock=clock)
    locks = [t.failed("budi", "10.0.0.1") for _ in range(3)]
    assert locks == [0, 0, 0] and t.wait("budi") == 0        # the first three are free
    delays = []
    for _ in range(4):
        delays.append(t.failed("budi", "10.0.0.1"))
    assert delays == [2, 4, 8, 16]                            # then a doubling lock
    assert t.wait("BUDI ") == 16                              # usernames are normalised
    assert t.wait("sari") == 0                                # other users are not affected
    clock.now += 16
    assert t.wait("budi") == 0
    for _ in range(10):
        t.failed("budi")
    assert t.wait("budi") == 60                               # capped
    t.succeeded("budi")
    assert t.wait("budi") == 0


def test_throttle_per_ip_and_forgets_after_window():
    clock = Clock()
    t = login.Throttle(user_free=3, ip_free=5, base=2, cap=60, window=900, clock=clock)
    for i in range(5):
        assert t.failed(f"user{i}", "10.0.0.9") == 0          # different usernames, one IP
    assert t.failed("user5", "10.0.0.9") == 2
    assert t.wait("someone-else", "10.0.0.9") == 2           # the IP is slowed down
    assert t.wait("someone-else", "10.0.0.10") == 0
    clock.now += 901
    assert t.failed("user6", "10.0.0.9") == 0                 # old failures forgotten


def test_try_login_refuses_while_locked_even_with_the_right_password(ui_store):  # noqa: F811
    t = login.Throttle(user_free=2, ip_free=100, base=30)
    for _ in range(2):
        assert login.try_login(ui_store, "admin", "nope", throttle=t) == (None, login.WRONG_CREDENTIALS)
    assert login.try_login(ui_store, "ghost", "nope", throttle=t) == (None, login.WRONG_CREDENTIALS)
    agent, message = login.try_login(ui_store, "admin", "nope", throttle=t)   # third failure: locked
    assert agent is None and message == login.WRONG_CREDENTIALS
    agent, message = login.try_login(ui_store, "admin", ADMIN_PASSWORD, throttle=t)
    assert agent is None and message.startswith("Too many failed attempts")
    t.reset()
    agent, message = login.try_login(ui_store, "admin", ADMIN_PASSWORD, throttle=t)
    assert agent["username"] == "admin" and message is None


def test_secret_key_is_generated_once_and_kept(ui_store, monkeypatch):  # noqa: F811
    key = login.secret_key(ui_store)
    assert len(key) == 64
    login._keys.clear()                                       # as after a restart
    assert login.secret_key(ui_store) == key
    monkeypatch.setenv("MAXCHAT_SECRET_KEY", "from-the-environment")
    assert login.secret_key(ui_store) == b"from-the-environment"


def test_active_agent_rechecks_the_account(ui_store):  # noqa: F811
    budi = accounts.create_agent(ui_store, "dewi", "Dewi", "dewi-pass-1")
    session = login.read_token(KEY, login.make_token(KEY, budi))
    assert login.active_agent(ui_store, session)["username"] == "dewi"
    accounts.update_agent(ui_store, budi, None, display_name="Dewi", role="agent", active=False)
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
        hdrs = {"host": "testserver", "content-type": "application/x-www-form-urlencoded", **(headers or {})}
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
def client(ui_store):  # noqa: F811
    return Client(Starlette(routes=login_routes.routes()))


def _code_for(store, agent_id):
    token = login.make_token(login.secret_key(store), agent_id)
    return token, login.CODES.issue(token)


def test_session_route_sets_an_httponly_lax_cookie_once(client, ui_store):  # noqa: F811
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


def test_session_route_refuses_a_cross_site_post(client, ui_store):  # noqa: F811
    _, code = _code_for(ui_store, 1)
    r = client.post("/auth/session", data={"code": code}, headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    ok = client.post("/auth/session", data={"code": code}, headers={"origin": "http://testserver"})
    assert ok.status_code == 303 and login.COOKIE_NAME in ok.headers["set-cookie"]


def test_logout_route_clears_the_cookie_and_revokes_the_session(client, ui_store):  # noqa: F811
    token, code = _code_for(ui_store, 1)
    client.post("/auth/session", data={"code": code})
    assert client.cookies[login.COOKIE_NAME] == token
    r = client.get("/auth/logout")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert r.headers["set-cookie"].startswith(f'{login.COOKIE_NAME}=""') and "Max-Age=0" in r.headers["set-cookie"]
    assert login.COOKIE_NAME not in client.cookies
    assert login.read_token(login.secret_key(ui_store), token) is None   # a copied cookie is dead too
