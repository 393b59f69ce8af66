"""T3: attachments. The type comes from the file's bytes, never its name;
agents send at most 1 MB, only documents, images and videos; customers may
also send audio (voice notes) and stickers. Files are stored under the
media directory by content hash."""
from __future__ import annotations

import contextlib
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from . import i18n
from .errors import ValidationError
from .i18n import N_, _

MAX_UPLOAD = 1024 * 1024  # 1 MB (T3)
# Decoding a picture costs 4 bytes a pixel: a tiny file that claims
# 30,000 x 30,000 pixels (a decompression bomb) is not an image we show.
MAX_PIXELS = 25_000_000
# What a file whose first bytes say "image" but which does not decode is kept
# as: a file to download, never something the page tries to draw.
DAMAGED_IMAGE = ("application/octet-stream", "document")

# Magic numbers -> (mime, kind).
_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png", "image"),
    (b"\xff\xd8\xff", "image/jpeg", "image"),
    (b"GIF87a", "image/gif", "image"),
    (b"GIF89a", "image/gif", "image"),
    (b"%PDF-", "application/pdf", "document"),
    (b"\x1a\x45\xdf\xa3", "video/webm", "video"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword", "document"),
    (b"ID3", "audio/mpeg", "audio"),
    (b"#!AMR", "audio/amr", "audio"),
    (b"fLaC", "audio/flac", "audio"),
]
SENDABLE = ("image", "video", "document")  # what an agent may attach
# A kind of file in a sentence.
KIND_WORDS = {"image": N_("an image"), "video": N_("a video"), "document": N_("a document"), "audio": N_("an audio file")}
# Brands of an ISO media file ("ftyp") that hold sound only.
_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B ")
_OOXML = {"word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document"),
          "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document"),
          "ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "document")}
_EXTENSION_KIND = {
    "png": "image", "jpg": "image", "jpeg": "image", "gif": "image", "webp": "image",
    "mp4": "video", "mov": "video", "webm": "video", "3gp": "video", "m4v": "video",
    "pdf": "document", "doc": "document", "docx": "document", "xls": "document",
    "xlsx": "document", "ppt": "document", "pptx": "document", "txt": "document", "csv": "document",
}


@dataclass(frozen=True)
class Attachment:
    sha256: str
    filename: str
    mime: str
    kind: str
    size: int
    path: str  # relative to the media directory


def sniff(data: bytes, expected: str | None = None) -> tuple[str, str] | None:
    """(mime, kind) from the content, or None when it is not a type we take.
    An image is decoded to be believed: one that does not decode is
    ``DAMAGED_IMAGE``, so no page ever tries to draw it.

    ``expected`` is what the provider called the message. It never makes
    bytes acceptable; it only reads a container that holds either sound or
    pictures (MP4, WebM) as the one the message is: a voice note in an MP4
    box is audio, a WebP or WebM sticker is a sticker (shown small)."""
    found = _signature(data)
    if found is not None and found[1] == "image" and not _decodes(data):
        return DAMAGED_IMAGE
    if found is None:
        return None
    mime, kind = found
    if expected == "audio" and mime in ("video/mp4", "video/webm", "video/3gpp"):
        return "audio/" + mime.split("/")[1], "audio"
    if expected == "sticker" and (kind == "image" or mime == "video/webm"):
        return mime, "sticker"
    return found


def _decodes(data: bytes) -> bool:
    """Pillow reads the whole picture (verify checks the structure, load the
    pixels) and it is at most MAX_PIXELS."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > MAX_PIXELS:
                    return False
                im.verify()
            with Image.open(io.BytesIO(data)) as im:
                im.load()
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a bad file; each means "not an image"
        return False
    return True


def _signature(data: bytes) -> tuple[str, str] | None:
    for magic, mime, kind in _SIGNATURES:
        if data.startswith(magic):
            return mime, kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "image"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav", "audio"
    if data.startswith(b"OggS"):
        # Ogg holds Opus (WhatsApp and Telegram voice notes) or Vorbis sound;
        # anything else in it (Theora video) is not taken.
        head = data[:512]
        return ("audio/ogg", "audio") if (b"OpusHead" in head or b"\x01vorbis" in head) else None
    if len(data) >= 4 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06:
        return "audio/mpeg", "audio"   # an MP3 frame header (no ID3 tag); layer bits 00 are ADTS below
    if len(data) >= 7 and data[0] == 0xFF and data[1] & 0xF6 == 0xF0:
        return "audio/aac", "audio"    # ADTS: raw AAC, as Messenger's audio clips come
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _AUDIO_BRANDS:
            return "audio/mp4", "audio"
        if brand.startswith(b"3g"):
            return "video/3gpp", "video"
        if brand == b"qt  ":
            return "video/quicktime", "video"
        return "video/mp4", "video"
    if data.startswith(b"PK\x03\x04"):
        head = data[:4096]
        for folder, found in _OOXML.items():
            if folder.encode() in head:
                return found
        return None  # a plain zip (or an .apk, .jar ...) is not a document we take
    if _is_plain_text(data):
        return "text/plain", "document"
    return None


def _is_plain_text(data: bytes) -> bool:
    if not data or b"\x00" in data[:4096]:
        return False
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < 4090:  # a multi-byte character cut at the edge is fine
            return False
    return True


def clean_filename(name: str) -> str:
    name = Path(name or "file").name
    name = re.sub(r"[^\w.\- ()]+", "_", name).strip(" .") or "file"
    return name[:120]


def check_upload(filename: str, data: bytes, limit: int = MAX_UPLOAD) -> tuple[str, str]:
    """Refuse what T3 refuses, with a message a person understands.
    Returns (mime, kind)."""
    if len(data) == 0:
        raise ValidationError(_("{filename} is empty.").format(filename=filename))
    if len(data) > limit:
        raise ValidationError(_("{filename} is {size} MB: attachments can be at most {limit} MB.").format(
            filename=filename, size=i18n.number(len(data) / 1024 / 1024, 1), limit=i18n.number(limit / 1024 / 1024)))
    found = sniff(data)
    if found is None or found[1] not in SENDABLE:
        raise ValidationError(_("{filename} is not a document, image or video: only those can be sent.")
                              .format(filename=filename))
    if found == DAMAGED_IMAGE:
        raise ValidationError(_("{filename} looks like an image but cannot be opened: the file is damaged "
                                "or too large to show. Send a working picture.").format(filename=filename))
    mime, kind = found
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    claimed = _EXTENSION_KIND.get(ext)
    if claimed is None and ext and ext not in ("bin",):
        raise ValidationError(_("{filename}: files of type .{extension} cannot be sent.")
                              .format(filename=filename, extension=ext))
    if claimed is not None and claimed != kind:
        raise ValidationError(_("{filename} is named like {claimed} but its content is {kind} ({mime}).").format(
            filename=filename, claimed=_(KIND_WORDS[claimed]), kind=_(KIND_WORDS[kind]), mime=mime))
    return mime, kind


def save(media_dir: Path, filename: str, data: bytes, mime: str, kind: str) -> Attachment:
    """Write the bytes under their hash (idempotent) and describe them. A disk
    that refuses them (read-only, full, no permission) is a ValidationError
    the sender reads; nothing is stored."""
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{digest[:2]}/{digest}"
    target = Path(media_dir) / rel
    if not target.exists():
        tmp = target.with_suffix(".part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            tmp.replace(target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)  # a half-written part
            raise ValidationError(_("The file could not be stored on the server ({reason}). Nothing was sent:"
                                    " ask an administrator to check the media folder.")
                                  .format(reason=exc.strerror or type(exc).__name__)) from exc
    return Attachment(digest, clean_filename(filename), mime, kind, len(data), rel)


def insert_attachment(w, a: Attachment, now) -> int:
    """Writer side: one attachments row."""
    attachment_id = w.ids.next("attachments")
    w.execute("INSERT INTO attachments (id, sha256, filename, mime, kind, size, path, created_at)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              [attachment_id, a.sha256, a.filename, a.mime, a.kind, a.size, a.path, now])
    return attachment_id
