"""Fake Telegram Bot API: send methods, getFile + file downloads, and a
getUpdates queue that honours offsets like the real one."""
from __future__ import annotations

import itertools
import threading
import time

from .base import FakeServer, Recorded, Reply


def tg_error(code: int, description: str, retry_after: int | None = None) -> Reply:
    body = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return Reply(code, body)


def blocked() -> Reply:
    return tg_error(403, "Forbidden: bot was blocked by the user")


def too_many(retry_after: int = 1) -> Reply:
    return tg_error(429, f"Too Many Requests: retry after {retry_after}", retry_after)


class FakeTelegram(FakeServer):
    MAX_HOLD = 0.5  # a real long poll holds up to `timeout`; tests do not wait that long

    def __init__(self, token="123:ABC"):
        self.token = token
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self.updates: list[dict] = []
        self.offsets: list = []            # the offset of every getUpdates call
        self.delivered: list[int] = []     # update ids handed out (with repeats)
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._next_update = itertools.count(1000)
        super().__init__()

    def push(self, message: dict) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        with self._cond:
            update_id = next(self._next_update)
            self.updates.append({"update_id": update_id, "message": message})
            self._cond.notify_all()
            return update_id

    def add_file(self, file_id: str, data: bytes, path: str = "photos/file.jpg") -> None:
        self.files[file_id] = (path, data)

    def sent(self, method: str = "sendMessage") -> list[Recorded]:
        return self.calls(method)

    def handle(self, req: Recorded) -> Reply:
        parts = req.path.strip("/").split("/")
        if len(parts) >= 3 and parts[0] == "file":
            if parts[1] != f"bot{self.token}":
                return tg_error(401, "Unauthorized")
            wanted = "/".join(parts[2:])
            for path, data in self.files.values():
                if path == wanted:
                    return Reply(200, data, content_type="application/octet-stream")
            return tg_error(404, "Not Found")
        if len(parts) != 2 or parts[0] != f"bot{self.token}":
            return tg_error(401 if len(parts) == 2 else 404, "Unauthorized" if len(parts) == 2 else "Not Found")
        method = parts[1]
        args = dict(req.form)
        if isinstance(req.json, dict):
            args.update(req.json)
        if method == "getUpdates":
            return self._get_updates(args)
        if method == "getMe":
            return Reply(200, {"ok": True, "result": {"id": int(self.token.split(":")[0]), "is_bot": True,
                                                      "first_name": "Toko Maju", "username": "tokomaju_bot"}})
        if method == "getFile":
            found = self.files.get(args.get("file_id"))
            if not found:
                return tg_error(400, "Bad Request: invalid file_id")
            return Reply(200, {"ok": True, "result": {"file_id": args["file_id"], "file_size": len(found[1]),
                                                      "file_path": found[0]}})
        if method in ("sendMessage", "sendPhoto", "sendDocument", "sendVideo"):
            if not args.get("chat_id"):
                return tg_error(400, "Bad Request: chat_id is empty")
            if method == "sendMessage" and not args.get("text"):
                return tg_error(400, "Bad Request: message text is empty")
            field = {"sendPhoto": "photo", "sendDocument": "document", "sendVideo": "video"}.get(method)
            if field and field not in req.files:
                return tg_error(400, f"Bad Request: there is no {field} in the request")
            result = {"message_id": next(self._ids), "chat": {"id": int(args["chat_id"]), "type": "private"},
                      "date": int(time.time())}
            if "text" in args:
                result["text"] = args["text"]
            return Reply(200, {"ok": True, "result": result})
        return tg_error(404, "Not Found: method not found")

    def _get_updates(self, args: dict) -> Reply:
        offset = args.get("offset")
        offset = int(offset) if offset is not None else None
        self.offsets.append(offset)
        hold = min(float(args.get("timeout") or 0), self.MAX_HOLD)
        with self._cond:
            if offset is not None:
                # An offset acknowledges every earlier update: they are gone for good.
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and hold:
                self._cond.wait(hold)
            batch = list(self.updates[:100])
        self.delivered.extend(u["update_id"] for u in batch)
        return Reply(200, {"ok": True, "result": batch})
