"""The domain's refusals and validation errors speak the language of the
page run that caused them (issue 18), with their values filled in,
including those raised on the store's writer thread; work with no person
behind it speaks the default (MAXCHAT_LANGUAGE). What is stored and read
later (failure reasons, activity lines): tests/test_language_stored.py."""
from __future__ import annotations

import pytest

from conftest import customer_writes
from maxchat_data import accounts, actions, broadcasts, i18n, labels, login, new_chat, system
from maxchat_data.errors import NotAllowed, NotFound, ValidationError
from maxchat_data.media import check_upload


def refusal(call) -> str:
    with pytest.raises((NotAllowed, NotFound, ValidationError)) as caught:
        call()
    return str(caught.value)


@pytest.fixture
def people(store, team):
    lina = system.create_account(store, "lina", "Lina Marlina", "lina-pass-1", "analyst")
    chat = customer_writes(store).chat_id
    return {**team, "lina": lina, "chat": chat, "label": system.create_label(store, "VIP", "Red")}


CASES = {  # what is tried -> (Indonesian, English)
    "an analyst replies (refused on the writer thread)": (
        lambda s, p: actions.reply(s, p["chat"], p["lina"], "Halo"),
        "Lina Marlina adalah analis. Analis dapat membaca chat tetapi tidak dapat menanganinya.",
        "Lina Marlina is an analyst. An analyst can read chats but not act on them."),
    "an agent edits an account": (
        lambda s, p: accounts.update_agent(s, p["admin"], p["budi"], display_name="X", role="admin", active=True),
        "Budi Santoso adalah agen. Hanya admin yang dapat mengelola akun.",
        "Budi Santoso is an agent. Only an admin can manage accounts."),
    "a chat that does not exist (writer thread)": (
        lambda s, p: actions.add_note(s, 987, p["budi"], "catatan"),
        "Chat 987 tidak ada.", "Chat 987 does not exist."),
    "a note too long (numbers as the language writes them)": (
        lambda s, p: actions.add_note(s, p["chat"], p["budi"], "x" * 2001),
        "Catatan maksimal 2.000 karakter.", "A note can be at most 2,000 characters."),
    "an agent deletes a label": (
        lambda s, p: labels.delete_label(s, p["label"], p["budi"]),
        "Budi Santoso adalah agen. Hanya supervisor atau admin yang dapat menghapus label: label akan dilepas"
        " dari semua kontak.",
        "Budi Santoso is an agent. Only a supervisor or an admin can delete a label: it is removed from every"
        " contact."),
    "a landline number": (
        lambda s, p: new_chat.normalize_number("0212345678"),
        "'0212345678' bukan nomor HP: nomor lokal diawali 08, nomor lain perlu kode negaranya (+…).",
        "'0212345678' is not a mobile number: a local number starts with 08, any other needs its country code"
        " (+…)."),
    "a file that is not what its name says": (
        lambda s, p: check_upload("foto.png", b"%PDF-1.4\n%%EOF\n"),
        "Nama foto.png seperti gambar, tetapi isinya dokumen (application/pdf).",
        "foto.png is named like an image but its content is a document (application/pdf)."),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refusals_speak_the_language_of_the_person_with_their_values(store, people, case):
    call, indonesian, english = CASES[case]
    i18n.use("id")
    assert refusal(lambda: call(store, people)) == indonesian
    i18n.use("en")
    assert refusal(lambda: call(store, people)) == english


def test_csv_rows_a_broadcast_leaves_out_say_why_in_the_language():
    data = "phone,name,var1\n0812,Rina,a\n081234567890,Budi,\n".encode()
    i18n.use("id")
    assert broadcasts.read_csv(data, 1).errors == [
        (2, "'0812' bukan nomor yang valid: dengan kode negara panjangnya 8 sampai 15 digit."), (3, "var1 kosong")]
    i18n.use("en")
    assert broadcasts.read_csv(data, 1).errors == [
        (2, "'0812' is not a valid number: with its country code it has 8 to 15 digits."), (3, "var1 is empty")]


def test_a_refused_login_says_so_in_the_language(store, team):
    i18n.use("id")
    assert login.try_login(store, "budi", "salah-sandi", throttle=login.Throttle()) == (
        None, "Nama pengguna atau kata sandi salah.")

