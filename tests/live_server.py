"""Start the real server (``streamlit run app.py``) on a free port for
end-to-end tests, with its own database and whatever environment a test
gives it (e.g. channel API bases pointing at fake servers)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PROCESSES: dict[str, subprocess.Popen] = {}  # base URL -> the server's process (kill tests)
starts = 0  # servers this process started: tests/lanes.py checks each test that starts one is marked ``server``


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(tmp_path: Path, env: dict | None = None, demo: bool = False, timeout: float = 60,
                script: str = "app.py"):
    """Yields the base URL; the server's log is at ``tmp_path/server.log``.
    ``script``: another Streamlit script to serve instead of the app (it has
    no /healthz, so readiness is Streamlit's own health check)."""
    global starts
    starts += 1
    port = free_port()
    full_env = {**os.environ, "MAXCHAT_DB": str(tmp_path / "server.duckdb"),
                "MAXCHAT_MEDIA_DIR": str(tmp_path / "media"), "MAXCHAT_DEMO": "1" if demo else "0",
                "MAXCHAT_ADMIN_USER": "admin", "MAXCHAT_ADMIN_PASSWORD": "admin-pass-1",
                "MAXCHAT_PORT": str(port), "MAXCHAT_LANGUAGE": "en", **(env or {})}
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {(tmp_path / 'server.log').read_text()[-2000:]}")
            try:
                if requests.get(base + ("/healthz" if script == "app.py" else "/_stcore/health"), timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > end:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        PROCESSES[base] = proc
        yield base
    finally:
        PROCESSES.pop(base, None)
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
