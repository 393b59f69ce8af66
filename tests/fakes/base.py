"""A real HTTP server on 127.0.0.1 in a thread that records every request and
can be scripted to fail. Provider fakes subclass it and answer in the
provider's wire shapes."""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    json: object = None
    form: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)  # field -> (filename, content type, bytes)
    at: float = 0.0
    reply: object = None  # the Reply it got

    @property
    def key(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Reply:
    status: int
    body: object = None           # dict -> JSON, bytes -> as is
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0            # seconds to hold the answer (the request is already recorded)


def _parse_body(ct: str, body: bytes):
    data, form, files = None, {}, {}
    if ct.startswith("application/json") and body:
        try:
            data = json.loads(body)
        except ValueError:
            pass
    elif ct.startswith("multipart/form-data"):
        msg = BytesParser(policy=email_policy).parsebytes(b"Content-Type: " + ct.encode() + b"\r\n\r\n" + body)
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[name] = (part.get_filename(), part.get_content_type(), payload)
            else:
                form[name] = payload.decode()
    elif ct.startswith("application/x-www-form-urlencoded"):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    return data, form, files


class FakeServer:
    def __init__(self):
        self.requests: list[Recorded] = []
        self._script: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes: without this, Nagle and the
            # client's delayed ACK add ~40 ms to every keep-alive answer.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                data, form, files = _parse_body(self.headers.get("Content-Type") or "", body)
                req = Recorded(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                               {k.lower(): v for k, v in self.headers.items()}, body, data, form, files, time.time())
                with fake._lock:
                    fake.requests.append(req)
                    scripted = fake._script[req.key].popleft() if fake._script[req.key] else None
                reply = scripted or fake.handle(req)
                req.reply = reply
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client stopped waiting (a held answer)

            do_GET = do_POST = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # ---- scripting --------------------------------------------------------------
    def script(self, key: str, *replies: Reply) -> None:
        """The next calls whose last path segment is ``key`` get these replies, in order."""
        with self._lock:
            self._script[key].extend(replies)

    def calls(self, key: str | None = None, method: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if (key is None or r.key == key) and (method is None or r.method == method)]

    def wait_for(self, key: str, count: int = 1, timeout: float = 10) -> list[Recorded]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = self.calls(key)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} call(s) to {key}, got {len(self.calls(key))}: "
                             f"{[r.path for r in self.requests]}")

    def handle(self, req: Recorded) -> Reply:  # pragma: no cover - subclasses answer
        return Reply(404, {"error": "not found"})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
