"""Issue 18, "Language": what is stored now and read later — a failed
message's reason, the chat's activity lines, a template's status reason —
reads in the language of whoever reads it (``i18n.later`` / ``i18n.shown``);
a provider's own words are shown as they came; rows stored in English
before still show. Template sync results and the command line speak the
person's / MAXCHAT_LANGUAGE's language."""
from __future__ import annotations

import json
import threading

import pytest
from streamlit.testing.v1 import AppTest

from conftest import customer_writes, point_runtime_at
from maxchat_data import accounts, actions, i18n, labels, login, outbox, retry, system, team as team_rules, \
    template_sync
from maxchat_data.__main__ import main
from maxchat_data.channels import telegram, whatsapp
from maxchat_data.channels.base import RetryLater, answered
from maxchat_data.i18n import later, shown
from maxchat_data.inbox import thread
from server import runtime
from tests.fakes import blocked, graph_error, listed_template
from tests.test_channels import chat_on, fakes, settled, worker  # fixtures
from ui_support import ROOT, agent_named, set_cookie, texts, ui_store, visible  # a fixture

pytestmark = pytest.mark.both_backends


def activity(store, chat_id) -> list[str]:
    return [shown(m["body"]) for m in thread(store, chat_id) if m["direction"] == "activity"]


def in_both(read) -> tuple:
    i18n.use("id")
    indonesian = read()
    i18n.use("en")
    return indonesian, read()


# ---- activity lines -----------------------------------------------------------------------------
def test_activity_lines_read_in_each_readers_language(store, team):
    chat = customer_writes(store).chat_id
    vip = system.create_label(store, "VIP", "Red")
    i18n.use("en")  # written by a person reading English: no matter
    actions.assign(store, chat, team["budi"], team["sari"])
    actions.assign(store, chat, team["sari"], team["sari"])
    labels.set_label(store, chat, vip, True, team["sari"])
    actions.resolve(store, chat, team["sari"])
    actions.archive(store, chat, team["sari"])
    customer_writes(store)  # back again: a new session, out of Archived
    indonesian, english = in_both(lambda: activity(store, chat))
    assert indonesian == [
        "Sari Wulandari menugaskan chat ke Budi Santoso",
        "Sari Wulandari memindahkan chat dari Budi Santoso ke Sari Wulandari",
        "Sari Wulandari menambahkan label VIP",
        "Sari Wulandari menyelesaikan chat",
        "Sari Wulandari mengarsipkan chat",
        "Pelanggan menulis lagi: sesi baru, chat Open",
        "Pelanggan menulis: chat keluar dari Archived",
    ]
    assert english == [
        "Sari Wulandari assigned the chat to Budi Santoso",
        "Sari Wulandari reassigned the chat from Budi Santoso to Sari Wulandari",
        "Sari Wulandari added label VIP",
        "Sari Wulandari resolved the chat",
        "Sari Wulandari archived the chat",
        "Customer wrote again: new session, chat Open",
        "Customer wrote: chat moved out of Archived",
    ]
    # Stored language-free: the English id and the names, never a rendered sentence.
    stored = [m["body"] for m in thread(store, chat) if m["direction"] == "activity"]
    assert json.loads(stored[0]) == {"said": "{who} assigned the chat to {agent}",
                                     "with": {"who": "Sari Wulandari", "agent": "Budi Santoso"}}
    assert all(json.loads(body)["said"] in english or "{who}" in json.loads(body)["said"] for body in stored)
    assert not any(line in body for body in stored for line in indonesian)


def test_lines_the_team_rules_write_read_in_the_readers_language(store, team):
    """Auto-assignment and an agent going Offline (no person behind the first)."""
    team_rules.save_settings(store, team["admin"], auto_assign="round_robin", capacity=10, offline_returns=True,
                             agents_see_own=False)
    team_rules.heartbeat(store, team["budi"], "budi-tab")  # present: a tab polls
    team_rules.set_availability(store, team["budi"], "Online")
    chat = customer_writes(store).chat_id
    team_rules.set_availability(store, team["budi"], "Offline")
    indonesian, english = in_both(lambda: activity(store, chat))
    assert indonesian == ["BOT menugaskan chat ke Budi Santoso (penugasan otomatis)",
                          "Budi Santoso Offline: chat kembali ke antrean"]
    assert english == ["BOT assigned the chat to Budi Santoso (auto-assignment)",
                       "Budi Santoso went Offline: chat back to the queue"]


def test_an_activity_line_stored_in_english_before_still_shows_as_stored(store, team):
    chat = customer_writes(store).chat_id
    old = "Sari Wulandari resolved the chat"  # how lines were stored before
    store.write(lambda w: w.execute(
        "INSERT INTO messages (id, chat_id, session_id, channel, direction, kind, body, status, sent_at, created_at)"
        " SELECT ?, id, session_id, channel, 'activity', 'activity', ?, 'received', now(), now() FROM chats"
        " WHERE id = ?", [w.ids.next("messages"), old, chat]))
    assert in_both(lambda: activity(store, chat)) == ([old], [old])
    # Nor does anything that merely looks like JSON break the thread.
    for text in ('{"said": 3}', '{"said":"x", broken', None):
        assert shown(text) == text


# ---- failure reasons ----------------------------------------------------------------------------
def test_a_providers_refusal_reads_in_the_readers_language_with_its_own_words_as_sent(store, team, fakes, worker):
    wa, _ms, tg = fakes
    tg.script("sendMessage", blocked())
    wa.script("messages", graph_error(400, 100, "(#100) Invalid parameter"))
    on_telegram = actions.reply(store, chat_on(store, "telegram"), team["budi"], "Halo")
    on_whatsapp = actions.reply(store, chat_on(store, "whatsapp"), team["budi"], "Halo")
    i18n.use("id")
    assert settled(store, on_telegram)["error"] == "Pelanggan memblokir bot"
    assert settled(store, on_whatsapp)["error"] == "WhatsApp menolak pesan: (#100) Invalid parameter (kode 100)"
    i18n.use("en")
    assert settled(store, on_telegram)["error"] == shown(telegram.BLOCKED) == "The customer blocked the bot"
    assert settled(store, on_whatsapp)["error"] == "WhatsApp refused the message: (#100) Invalid parameter (code 100)"


def test_a_reason_a_worker_stores_reads_in_each_readers_language(monkeypatch):
    """A worker has no person behind it; whoever reads the reason later reads
    it in their own language, whatever MAXCHAT_LANGUAGE says."""
    monkeypatch.setenv("MAXCHAT_LANGUAGE", "en")
    said = {}

    def work():
        said["gave_up"] = retry.DELIVERY.gave_up(later._("Could not send"), 8,
                                                 RetryLater(answered("WhatsApp", 500, "Service unavailable")))
        said["unsure"] = outbox.unsure(later._("no answer: {error}", error="ReadTimeout"))
        said["too_long"] = retry.DELIVERY.gave_up(later._("Could not send"), 1,
                                                  RetryLater(answered("WhatsApp", 429, None), retry_after=7200))
        said["window"] = whatsapp.reason_for(131047, "Re-engagement message")

    worker_thread = threading.Thread(target=work)
    worker_thread.start()
    worker_thread.join()
    i18n.use("id")
    assert {k: shown(v) for k, v in said.items()} == {
        "gave_up": "Gagal mengirim setelah 8 percobaan: WhatsApp menjawab 500: Service unavailable",
        "unsure": "Belum pasti terkirim (tidak ada jawaban: ReadTimeout): cek dengan pelanggan, lalu kirim ulang",
        "too_long": shown(said["too_long"]),  # checked below, word by word
        "window": "Jendela 24 jam tertutup — kirim template",
    }
    assert "WhatsApp menjawab 429" in shown(said["too_long"]) and "2 jam" in shown(said["too_long"])
    i18n.use("en")
    assert shown(said["gave_up"]) == "Could not send after 8 attempts: WhatsApp answered 500: Service unavailable"
    assert retry.DELIVERY.gave_up(later._("Could not send"), 1, RetryLater("x")).startswith('{"said":')
    assert shown(retry.DELIVERY.gave_up(later._("Could not send"), 1, RetryLater("x"))) == \
        "Could not send after 1 attempt: x"
    assert i18n.english(said["unsure"]) == \
        "Not sure it was sent (no answer: ReadTimeout): check with the customer, then retry"


# ---- the Chat page ------------------------------------------------------------------------------
def test_the_chat_page_shows_stored_reasons_and_activity_lines_in_indonesian(ui_store):
    store = ui_store
    budi, admin = agent_named(store, "budi"), agent_named(store, "admin")
    chat = customer_writes(store, "6281", "Halo, pesanan saya?", name="Rina Kusuma").chat_id
    actions.assign(store, chat, budi["id"], admin["id"])
    mid = actions.reply(store, chat, budi["id"], "Sudah kami kirim kak")
    outbox.mark_failed(store, mid, whatsapp.reason_for(131026, None))
    accounts.set_language(store, budi["id"], "id")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    set_cookie(login.start_session(store, budi["id"]))
    at.query_params["chat"] = str(chat)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    page = visible(texts(at))
    assert f"{admin['display_name']} menugaskan chat ke Budi Santoso" in page
    assert "Tidak terkirim: Pelanggan tidak dapat menerima pesan WhatsApp di nomor ini" in page
    for english in ("assigned the chat to", "The customer cannot receive WhatsApp messages", '"said"'):
        assert english not in page, english


# ---- template sync ------------------------------------------------------------------------------
def test_a_template_sync_result_and_its_reasons_read_in_the_readers_language(store, team, fakes):
    wa = fakes[0]
    wa.listed = [listed_template("promo_a", "Halo {{1}}", tid="11"),
                 listed_template("promo_p", "Hai", status="PAUSED", tid="12"),
                 {**listed_template("no_body", "x", tid="13"), "components": []}]
    i18n.use("id")
    result = template_sync.sync_now(store, team["admin"], whatsapp.Client())
    assert str(result) == ("2 ditambahkan, 0 diperbarui, 0 ditandai terhapus di WhatsApp;"
                           " 1 dilewati (no_body (id): tanpa teks isi)")
    (reason,) = store.one("SELECT status_reason FROM templates WHERE name = 'promo_p'")
    assert shown(reason) == "Paused di WhatsApp"
    i18n.use("en")
    assert str(result) == "2 added, 0 updated, 0 marked deleted on WhatsApp; 1 skipped (no_body (id): no body text)"
    assert shown(reason) == "Paused on WhatsApp"
    assert result.english() == str(result)  # the event and the log line: English
    i18n.use("id")
    big = template_sync.SyncResult(added=1234)
    assert str(big).startswith("1.234 ditambahkan")


# ---- the command line ---------------------------------------------------------------------------
def test_the_command_line_speaks_maxchat_language(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "cli.duckdb")
    monkeypatch.setenv("MAXCHAT_LANGUAGE", "id")
    assert main(["--db", db, "migrate"]) == 0
    assert capsys.readouterr().out == f"skema sudah terbaru di {db}\n"
    assert main(["--db", db, "set-password", "nobody"]) == 2
    assert capsys.readouterr().err == "Tidak ada agen 'nobody'.\n"
    assert main(["--db", db, "migrate", "--to", "mysql://x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("--to perlu URL PostgreSQL") and "takes a" not in err
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "isi database dengan chat demo dan login demo" in out and "fill the database" not in out
    monkeypatch.setenv("MAXCHAT_LANGUAGE", "en")
    assert main(["--db", db, "migrate"]) == 0
    assert capsys.readouterr().out == f"schema up to date in {db}\n"


def test_the_first_admin_message_at_start_speaks_maxchat_language(tmp_path, monkeypatch, capsys):
    point_runtime_at(tmp_path / "fresh.duckdb", monkeypatch)
    for name in ("MAXCHAT_ADMIN_PASSWORD", "MAXCHAT_ADMIN_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAXCHAT_LANGUAGE", "id")
    try:
        runtime.store()
        printed = capsys.readouterr().err
    finally:
        runtime.close()
    assert printed.startswith("Maxchat Inbox: admin pertama 'admin' dibuat dengan kata sandi '")
    assert "hanya ditampilkan sekali" in printed and "shown only this once" not in printed
