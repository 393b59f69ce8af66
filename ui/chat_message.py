"""One message's content in the thread: text, files (pictures, videos,
voice notes, stickers, documents), locations, shared contacts, what the
customer tapped, and what became of it since (reaction, edits, deletion).

Customer text is data: shown with st.text or ``plain()``, never as markup.
Links we draw (the map) are built by our code from checked numbers."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from maxchat_data import inbox
from maxchat_data.common import duration, map_link
from maxchat_data.i18n import N_, _

from . import chat_state
from .chat_text import plain, when

STICKER_WIDTH = 120
KINDS = {"image": N_("image"), "video": N_("video"), "audio": N_("audio"), "sticker": N_("sticker")}


def body(store, m: dict) -> None:
    if m["deleted_at"] is not None:
        st.caption(":material/delete: " + _("Deleted by the customer · {when}").format(when=when(m["deleted_at"])))
        with st.expander(_("What it said (kept for the team)")):
            _content(store, m)
        return
    _content(store, m)
    if m["edited_at"] is not None and m["history"]:
        with st.expander(_("Earlier versions")):
            for h in m["history"]:
                if h["change"] == "edited":
                    st.caption(_("Until {when}").format(when=when(h["changed_at"], full=True)))
                    st.text(h["old_body"] if h["old_body"] is not None else h["old_caption"] or "")


def reaction(m: dict) -> None:
    """The customer's reaction, under the message it is about."""
    if m["reaction"]:
        with st.container(key=f"msg_reaction_{m['id']}"):
            st.caption(_("Reaction: {emoji}").format(emoji=plain(m["reaction"])))


def _content(store, m: dict) -> None:
    d, kind = m["details"], m["kind"]
    if d.get("tapped"):
        st.caption(":material/touch_app: " + _("The customer tapped this {what}").format(what=plain(d["tapped"])))
    if "started" in d:
        st.caption(":material/play_circle: " + _("The customer started the bot"))
    if m["attachment_id"] is not None:
        path = Path(store.media_dir) / m["attachment_path"]
        if not path.is_file():
            st.caption(":material/broken_image: " + _("{file} (file missing)").format(file=plain(m["filename"])))
        else:
            _file(m, path)
    elif kind == "sticker":
        # Not fetched (an animated Telegram sticker) or not yet here: its emoji says what it is.
        sticker = _("[animated sticker]") if d.get("animated") else _("[sticker]")
        st.text(f"{sticker} {d.get('emoji') or ''}".strip())
    if kind == "location":
        _location(d)
    elif kind == "contact":
        _contacts(store, m)
    elif m["attachment_id"] is not None:
        if m["caption"]:
            st.text(m["caption"])
    elif m["body"]:
        st.text(m["body"])  # plain text: customer text is never markup (T1)


def _file(m: dict, path: Path) -> None:
    """A picture, video, sound or sticker in place; any other file, or one
    that cannot be shown, as a download. One bad file never takes the chat down."""
    kind, d = m["kind"], m["details"]
    try:
        if kind == "image":
            st.image(str(path), width=260)
            return
        if kind == "video":
            st.video(str(path))
            return
        if kind == "audio":
            what = ":material/mic: " + _("Voice note") if d.get("voice") else ":material/music_note: " + _("Audio")
            length = duration(d["duration"]) if d.get("duration") is not None else ""
            st.caption(f"{what}{' · ' + length if length else ''}")
            with st.container(key=f"msg_audio_{m['id']}"):
                st.audio(str(path), format=m["mime"])
            return
        if kind == "sticker":
            with st.container(key=f"msg_sticker_{m['id']}", width=STICKER_WIDTH):
                if m["mime"].startswith("video/"):
                    st.video(str(path), loop=True, autoplay=True, muted=True)
                else:
                    st.image(str(path), width=STICKER_WIDTH)
            return
    except Exception:  # noqa: BLE001 - one bad file must not take the chat down for everyone
        st.caption(":material/broken_image: " + _("This {kind} could not be shown: download it instead.").format(
            kind=_(KINDS.get(kind, kind))))
    st.download_button(plain(m["filename"]), data=path.read_bytes(), file_name=m["filename"], mime=m["mime"],
                       key=f"chat_dl_{m['id']}", icon=":material/download:", on_click="ignore")


def _location(d: dict) -> None:
    st.caption(":material/location_on: " + _("Location"))
    for key in ("name", "address"):
        if d.get(key):
            st.text(d[key])
    url = map_link(d)
    if url is None:
        st.caption(_("The coordinates could not be read."))
        return
    st.text(f"{float(d['lat']):.6f}, {float(d['lon']):.6f}")
    st.link_button(_("Open in map"), url, icon=":material/map:")


def _contacts(store, m: dict) -> None:
    cards = m["details"].get("contacts") or []
    numbers = [p.get("wa_id") or p.get("phone") for c in cards for p in c.get("phones") or []]
    known = inbox.whatsapp_chats_for(store, numbers)
    for i, card in enumerate(cards):
        st.caption(":material/person: " + _("Contact"))
        st.text(card.get("name") or _("No name"))
        for j, p in enumerate(card.get("phones") or []):
            st.code(p.get("phone") or "", language=None)  # copyable as it is
            chat_id = known.get("".join(ch for ch in (p.get("wa_id") or p.get("phone") or "") if ch.isdigit()))
            if chat_id is not None and st.button(_("Open the WhatsApp chat with this number"),
                                                 key=f"msg_contact_{m['id']}_{i}_{j}", icon=":material/chat:"):
                chat_state.open_chat(chat_id)
                st.rerun(scope="app")
        for e in card.get("emails") or []:
            st.code(e, language=None)
