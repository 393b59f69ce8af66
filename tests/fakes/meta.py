"""Fake Graph API servers: WhatsApp Cloud API and Messenger Send API."""
from __future__ import annotations

import hashlib
import itertools

from .base import FakeServer, Recorded, Reply


def graph_error(status: int, code: int, message: str, subcode: int | None = None, details: str = "",
                headers: dict | None = None) -> Reply:
    err = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    if subcode is not None:
        err["error_subcode"] = subcode
    if details:
        err["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return Reply(status, {"error": err}, headers or {})


def error_131047() -> Reply:
    return graph_error(400, 131047, "(#131047) Re-engagement message",
                       details="Message failed to send because more than 24 hours have passed since the customer last replied to this number.")


def rate_limited(retry_after: int = 1) -> Reply:
    return graph_error(429, 130429, "(#130429) Rate limit hit", headers={"Retry-After": str(retry_after)})


def server_error() -> Reply:
    return graph_error(500, 2, "Service temporarily unavailable")


class FakeWhatsApp(FakeServer):
    def __init__(self, token="wa-token", phone_number_id="PNID"):
        self.token, self.phone_number_id = token, phone_number_id
        self.media: dict[str, tuple[bytes, str]] = {}   # media id -> (bytes, mime): uploads and inbound files
        self.templates: list[tuple[str, dict]] = []     # (waba id, body) of submitted templates
        self.listed: list[dict] = []                    # the account's templates, as GET message_templates lists them
        self.page_size = 2
        self._ids = itertools.count(1)
        super().__init__()

    def add_media(self, media_id: str, data: bytes, mime: str) -> None:
        """A file a customer sent: GET /{media-id} then its URL serve it."""
        self.media[media_id] = (data, mime)

    def sent(self) -> list[dict]:
        return [r.json for r in self.calls("messages", "POST")]

    def handle(self, req: Recorded) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return graph_error(401, 190, "Invalid OAuth access token.")
        parts = req.path.strip("/").split("/")
        if req.method == "POST" and parts == [self.phone_number_id, "messages"]:
            body = req.json or {}
            if body.get("messaging_product") != "whatsapp" or not body.get("to") or body.get("type") not in body:
                return graph_error(400, 100, "(#100) Invalid parameter")
            to = body["to"]
            return Reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                               "messages": [{"id": f"wamid.OUT{next(self._ids)}"}]})
        if req.method == "POST" and parts == [self.phone_number_id, "media"]:
            f = req.files.get("file")
            if not f or req.form.get("messaging_product") != "whatsapp":
                return graph_error(400, 100, "(#100) The parameter file is required.")
            media_id = f"MEDIA{next(self._ids)}"
            self.media[media_id] = (f[2], f[1])
            return Reply(200, {"id": media_id})
        if req.method == "POST" and len(parts) == 2 and parts[1] == "message_templates":
            body = req.json or {}
            if not body.get("name") or not body.get("language") or body.get("category") not in (
                    "MARKETING", "UTILITY", "AUTHENTICATION") or not body.get("components"):
                return graph_error(400, 100, "(#100) Invalid parameter")
            self.templates.append((parts[0], body))
            return Reply(200, {"id": f"{next(self._ids) + 5000}", "status": "PENDING", "category": body["category"]})
        if req.method == "GET" and len(parts) == 2 and parts[1] == "message_templates":
            return self._list_templates(req)
        if req.method == "GET" and parts == [self.phone_number_id]:
            return Reply(200, {"verified_name": "Toko Maju", "display_phone_number": "+62 811-0000-000",
                               "quality_rating": "GREEN", "id": self.phone_number_id})
        if req.method == "GET" and len(parts) == 1 and parts[0] in self.media:
            data, mime = self.media[parts[0]]
            return Reply(200, {"messaging_product": "whatsapp", "url": f"{self.url}/download/{parts[0]}",
                               "mime_type": mime, "sha256": hashlib.sha256(data).hexdigest(),
                               "file_size": len(data), "id": parts[0]})
        if req.method == "GET" and len(parts) == 2 and parts[0] == "download" and parts[1] in self.media:
            data, mime = self.media[parts[1]]
            return Reply(200, data, content_type=mime)
        return graph_error(404, 100, f"Unsupported request {req.method} {req.path}")

    def _list_templates(self, req: Recorded) -> Reply:
        """Cursor paging as Graph does it: ``paging.next`` until the last page."""
        limit = int(req.query.get("limit") or self.page_size)
        limit = min(limit, self.page_size)
        start = int(req.query.get("after") or 0)
        page = self.listed[start:start + limit]
        body = {"data": page, "paging": {"cursors": {"before": str(start), "after": str(start + len(page))}}}
        if start + limit < len(self.listed):
            fields = req.query.get("fields", "")
            body["paging"]["next"] = (f"{self.url}{req.path}?fields={fields}&limit={limit}&after={start + limit}")
        return Reply(200, body)


def listed_template(name: str, body: str, status: str = "APPROVED", language: str = "id", category: str = "MARKETING",
                    tid: str | None = None, reason: str | None = None) -> dict:
    """One template as GET /{waba-id}/message_templates lists it."""
    out = {"name": name, "language": language, "category": category, "status": status,
           "components": [{"type": "HEADER", "format": "TEXT", "text": "Hi"}, {"type": "BODY", "text": body}],
           "id": tid or str(abs(hash((name, language))) % 10**12)}
    if reason:
        out["rejected_reason"] = reason
    return out


class FakeMessenger(FakeServer):
    def __init__(self, token="page-token"):
        self.token = token
        self.files: dict[str, tuple[bytes, str]] = {}
        self.profiles: dict[str, tuple[str, str]] = {}
        self._ids = itertools.count(1)
        super().__init__()

    def file_url(self, name: str, data: bytes, mime: str) -> str:
        """An attachment URL as in an inbound webhook (CDN link, no token)."""
        self.files[name] = (data, mime)
        return f"{self.url}/cdn/{name}"

    def handle(self, req: Recorded) -> Reply:
        parts = req.path.strip("/").split("/")
        if req.method == "GET" and len(parts) == 2 and parts[0] == "cdn" and parts[1] in self.files:
            data, mime = self.files[parts[1]]
            return Reply(200, data, content_type=mime)
        if req.query.get("access_token") != self.token:
            return graph_error(400, 190, "Invalid OAuth access token.")
        if req.method == "POST" and parts == ["me", "messages"]:
            if req.json is not None:
                recipient, message = req.json.get("recipient", {}), req.json.get("message")
            else:
                import json
                recipient = json.loads(req.form.get("recipient", "{}"))
                message = json.loads(req.form.get("message", "null"))
            if not recipient.get("id") or not message:
                return graph_error(400, 100, "(#100) param recipient must be non-empty.")
            return Reply(200, {"recipient_id": recipient["id"], "message_id": f"m_OUT{next(self._ids)}"})
        if req.method == "GET" and parts == ["me"]:
            return Reply(200, {"name": "Toko Maju Page", "id": "PAGE1"})
        if req.method == "GET" and len(parts) == 1 and parts[0] in self.profiles:
            first, last = self.profiles[parts[0]]
            return Reply(200, {"first_name": first, "last_name": last, "id": parts[0]})
        return graph_error(404, 100, f"Unsupported request {req.method} {req.path}")
