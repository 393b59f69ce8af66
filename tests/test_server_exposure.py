"""What a client that has not logged in can reach on the real server
(``streamlit run app.py``): the upload endpoint, Streamlit's metrics, /healthz,
and the error details a page shows."""
from __future__ import annotations

import pytest
import requests
from streamlit import config as st_config
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

from live_server import ROOT, live_server
from maxchat_data.media import MAX_UPLOAD

MB = 1024 * 1024


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("exposure")) as url:
        yield url


def anonymous_session(base: str) -> tuple[requests.Session, str, str, object]:
    """What any browser gets before logging in: the XSRF cookie and a
    Streamlit session (a websocket). Returns (http, xsrf, session id, ws)."""
    http = requests.Session()
    http.get(base + "/_stcore/health", timeout=5).raise_for_status()
    xsrf = http.cookies["_streamlit_xsrf"]
    ws = connect(base.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit", xsrf],
                 additional_headers={"Cookie": f"_streamlit_xsrf={xsrf}"})
    hello = BackMsg()
    hello.rerun_script.query_string = ""
    ws.send(hello.SerializeToString())
    for _ in range(50):
        msg = ForwardMsg()
        msg.ParseFromString(ws.recv(timeout=20))
        if msg.WhichOneof("type") == "new_session":
            return http, xsrf, msg.new_session.initialize.session_id, ws
    raise AssertionError("no session started")


def test_the_upload_endpoint_refuses_more_than_an_attachment_can_be(base):
    http, xsrf, session_id, ws = anonymous_session(base)
    with ws:
        def put(name: str, size: int) -> int:
            return http.put(f"{base}/_stcore/upload_file/{session_id}/{name}", headers={"X-Xsrftoken": xsrf},
                            files={"file": (name, b"x" * size)}, timeout=30).status_code
        assert put("small.pdf", MAX_UPLOAD // 2) == 204  # the session is real: a small file is taken
        assert put("big.pdf", 2 * MB) == 413


def test_streamlit_metrics_are_not_served(base):
    for path in ("/_stcore/metrics", "/_stcore/metrics/", "/_stcore/metrics?families=session_events_total"):
        r = requests.get(base + path, timeout=5)
        assert r.status_code == 404, path
        assert "session" not in r.text
    assert requests.get(base + "/_stcore/health", timeout=5).ok  # the rest of /_stcore/ still answers


def test_healthz_says_only_ok(base):
    r = requests.get(base + "/healthz", timeout=5)
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_project_config_caps_uploads_and_hides_tracebacks(monkeypatch):
    monkeypatch.chdir(ROOT)  # where `streamlit run` reads .streamlit/config.toml
    try:
        st_config.get_config_options(force_reparse=True)
        assert st_config.get_option("server.maxUploadSize") * MB == MAX_UPLOAD
        assert st_config.get_option("client.showErrorDetails") == "none"
    finally:
        st_config.get_config_options(force_reparse=True)
