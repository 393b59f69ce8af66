"""Issue 14: voice notes, audio and stickers are believed by their bytes
only, and no file (broken, disguised, missing) breaks the chat; the chat
list says what each new kind is."""
from __future__ import annotations

import gzip
import json

import pytest

from maxchat_data import config, i18n
from maxchat_data.channels import clients, telegram, whatsapp
from maxchat_data.common import message_preview
from maxchat_data.errors import ValidationError
from maxchat_data.ingest import Inbound, receive, store_parsed
from maxchat_data.media import DAMAGED_IMAGE, check_upload, save, sniff
from server.fetcher import Fetcher
from tests.fakes import FakeMessenger, FakeTelegram, FakeWhatsApp
from tests.fakes.helpers import (AAC, BROKEN_GIF, MP4, OGG_OPUS, PDF, PNID, TG_TOKEN, WEBP, animated_webp, env_for, ogg_opus,
                                 tg_message, tg_update, wa_message, wa_webhook)
from tests.test_chat_page import env, ok, open_chat, run_as  # env is a fixture

pytestmark = pytest.mark.both_backends

TGS = gzip.compress(json.dumps({"v": "5.5.2", "fr": 60, "layers": []}).encode(), mtime=0)  # an animated Telegram sticker (mtime=0: the same test id in every xdist worker)


@pytest.mark.parametrize("data,found", [
    (OGG_OPUS, ("audio/ogg", "audio")),
    (b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 64, ("audio/mpeg", "audio")),
    (b"\xff\xfb\x90\x64" + b"\x00" * 64, ("audio/mpeg", "audio")),
    (AAC, ("audio/aac", "audio")),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A isom" + b"\x00" * 32, ("audio/mp4", "audio")),
    (b"#!AMR\n" + b"\x3c" * 40, ("audio/amr", "audio")),
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40, ("audio/wav", "audio")),
    (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x80theora", None),  # Ogg video: not taken
    (TGS, None),                                                    # gzip'd Lottie: no file we show
    (b"MZ\x90\x00" + b"\x00\x01" * 50, None),
])
def test_sound_is_recognised_by_its_bytes(data, found):
    assert sniff(data) == found
    assert sniff(data, expected="audio") == found  # what the provider said never makes bytes acceptable


def test_what_the_message_is_only_reads_a_container_either_way():
    assert sniff(MP4, expected="audio") == ("audio/mp4", "audio")   # a voice note in an MP4 box
    assert sniff(MP4) == ("video/mp4", "video")
    assert sniff(WEBP, expected="sticker") == ("image/webp", "sticker")
    assert sniff(animated_webp(), expected="sticker") == ("image/webp", "sticker")
    assert sniff(PDF, expected="sticker") == ("application/pdf", "document")  # a "sticker" that is a PDF
    broken = WEBP[:40]
    assert sniff(broken, expected="sticker") == DAMAGED_IMAGE          # first bytes of a WebP, then nothing


def test_an_agent_still_cannot_send_sound():
    with pytest.raises(ValidationError, match="only those can be sent"):
        check_upload("note.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 64)


@pytest.fixture
def fakes(monkeypatch):
    wa, ms, tg = FakeWhatsApp(phone_number_id=PNID), FakeMessenger(), FakeTelegram(token=TG_TOKEN)
    for k, v in env_for(wa, ms, tg).items():
        monkeypatch.setenv(k, v)
    config._secrets.cache_clear()
    yield wa, ms, tg
    for f in (wa, ms, tg):
        f.close()


def _row(store, pmid):
    row = store.dicts("SELECT m.kind, m.error, m.body, f.kind AS file_kind, f.mime FROM messages m"
                      " LEFT JOIN attachments f ON f.id = m.attachment_id WHERE m.provider_message_id = ?", [pmid])[0]
    return {**row, "error": i18n.shown(row["error"])}  # as an agent reads it


def test_voice_notes_and_stickers_are_fetched_and_typed_by_their_bytes(store, fakes):
    wa, _, tg = fakes
    wa.add_media("V", OGG_OPUS, "audio/ogg")
    wa.add_media("LIE", b"MZ\x90\x00" + b"\x00\x01" * 50, "audio/ogg")   # says voice note, is a program
    wa.add_media("S", animated_webp(), "image/webp")
    wa.add_media("SPDF", PDF, "image/webp")                              # says sticker, is a PDF
    wa.add_media("SBROKEN", BROKEN_GIF, "image/webp")
    tg.add_file("TGV", OGG_OPUS, "voice/file_1.oga")
    msgs = [wa_message(kind="audio", mid="wamid.V", id="V", voice=True),
            wa_message(kind="audio", mid="wamid.LIE", id="LIE", voice=True),
            wa_message(kind="sticker", mid="wamid.S", id="S", animated=True),
            wa_message(kind="sticker", mid="wamid.SPDF", id="SPDF"),
            wa_message(kind="sticker", mid="wamid.SBROKEN", id="SBROKEN")]
    store_parsed(store, whatsapp.parse(wa_webhook(msgs), PNID))
    store_parsed(store, telegram.parse(tg_update(tg_message(9, None, message_id=1, voice={
        "file_id": "TGV", "duration": 12, "mime_type": "audio/ogg"}))))
    store_parsed(store, telegram.parse(tg_update(tg_message(9, None, message_id=2, sticker={
        "file_id": "TGS", "emoji": "🎉", "is_animated": True}))))
    Fetcher(store, clients()).run_once()
    assert _row(store, "wamid.V") | {"error": None} == {"kind": "audio", "error": None, "body": None,
                                                        "file_kind": "audio", "mime": "audio/ogg"}
    lie = _row(store, "wamid.LIE")
    assert lie["file_kind"] is None and "not a document, image or video (or audio)" in lie["error"]
    assert (_row(store, "wamid.S")["file_kind"], _row(store, "wamid.S")["mime"]) == ("sticker", "image/webp")
    assert _row(store, "wamid.SPDF")["kind"] == _row(store, "wamid.SPDF")["file_kind"] == "document"
    assert _row(store, "wamid.SBROKEN")["file_kind"] == "document"  # never drawn: a file to download
    assert _row(store, "9:1")["file_kind"] == "audio"
    # The animated Telegram sticker is never downloaded: its emoji says what it was.
    assert _row(store, "9:2")["kind"] == "sticker" and store.one("SELECT count(*) FROM pending_media")[0] == 0
    previews = dict(store.all("SELECT channel_user_id, last_preview FROM chats"))
    assert previews["9"] == "Sticker 🎉"


def test_the_chat_list_says_what_each_new_kind_is():
    assert message_preview("audio", None, None, {"voice": True, "duration": 12}) == "🎤 Voice note (0:12)"
    assert message_preview("audio", None, None, '{"duration": 185}') == "🎵 Audio (3:05)"
    assert message_preview("audio", None, None, None) == "🎵 Audio"
    assert message_preview("location", None, None, {"lat": 1, "lon": 2, "name": "Toko Maju"}) == "📍 Location: Toko Maju"
    assert message_preview("contact", None, None, {"contacts": [{"name": "Budi"}, {"name": "Ani"}]}) == \
        "👤 Contact: Budi (+1)"
    assert message_preview("sticker", None, None, {"emoji": "👍"}) == "Sticker 👍"
    assert message_preview("audio", None, "caption", {}) == "caption"


def test_every_new_kind_and_every_broken_file_shows_without_breaking_the_chat(env):
    store, ids = env
    media = store.media_dir

    def attach(name, data, mime, kind):
        return save(media, name, data, mime, kind)

    missing = attach("gone.ogg", ogg_opus(2), "audio/ogg", "audio")
    (media / missing.path).unlink()
    items = [
        dict(kind="audio", attachment=attach("v.ogg", OGG_OPUS, "audio/ogg", "audio"), details={"voice": True, "duration": 1}),
        dict(kind="audio", attachment=attach("junk.ogg", b"OggS\x00\x02OpusHead" + b"\xff" * 300, "audio/ogg", "audio")),
        dict(kind="audio", attachment=missing),
        dict(kind="sticker", attachment=attach("s.webp", WEBP, "image/webp", "sticker"), details={"emoji": "🤣"}),
        dict(kind="sticker", attachment=attach("bad.webp", BROKEN_GIF, "image/webp", "sticker")),  # an older store's
        dict(kind="sticker", details={"emoji": "🎉", "animated": True}),
        dict(kind="location", details={"lat": -6.2, "lon": 106.8, "name": "<b>Toko</b> [x](javascript:alert(1))"}),
        dict(kind="location", details={"lat": "NaN", "lon": 500}),
        dict(kind="contact", details={"contacts": [{"name": "Budi **Bold**", "phones": [
            {"phone": "+62 812-0000-0001", "wa_id": "6281200000001"}], "emails": ["budi@example.com"]}]}),
    ]
    chat = None
    for n, extra in enumerate(items):
        chat = receive(store, Inbound(channel="whatsapp", channel_user_id="6281200000002", contact_name="Ayu",
                                      provider_message_id=f"kinds-{n}", **extra)).chat_id
    other = receive(store, Inbound(channel="whatsapp", channel_user_id="6281200000001", contact_name="Budi",
                                   provider_message_id="budi-1", body="halo")).chat_id
    at = open_chat(ok(run_as(store, ids["sari"])), chat)
    captions = "\n".join(c.value for c in at.caption)
    assert "Voice note · 0:01" in captions and "(file missing)" in captions
    assert "This sticker could not be shown" in captions  # the broken one: a download instead
    texts = [t.value for t in at.text]
    assert "[animated sticker] 🎉" in texts and "<b>Toko</b> [x](javascript:alert(1))" in texts  # data, not markup
    assert "The coordinates could not be read." in captions
    assert [c.value for c in at.code] == ["+62 812-0000-0001", "budi@example.com"]
    # The shared number is a customer we have: one click opens that chat.
    at = ok(at.button(key=f"msg_contact_{store.one('SELECT id FROM messages WHERE provider_message_id = ?', ['kinds-8'])[0]}_0_0").click().run())
    assert at.session_state["chat_open"] == other
