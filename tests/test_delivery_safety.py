"""Outbound delivery that never sends twice nor stalls, and background jobs
that give up: steps recorded one by one, the durable "sending" state and
what a restart does with it, one lane per channel, bounded Retry-After, and
every failure of the fetcher counted. Against the fake providers over real
HTTP; the kill -9 test runs the real server."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from maxchat_data import actions, i18n, outbox, system
from maxchat_data.channels import Permanent, RetryLater, base, clients, messenger, telegram
from maxchat_data.i18n import later
from maxchat_data.ingest import store_parsed
from maxchat_data.retry import DELIVERY, POLLING, RetryPolicy
from maxchat_data.store import Store
from server.delivery import DeliveryWorker
from server.fetcher import Fetcher
from tests.conftest import QUICK_DELIVERY, wait_until
from tests.fakes import FakeMessenger, FakeTelegram, FakeWhatsApp, Reply, graph_error, rate_limited, server_error
from tests.fakes.helpers import PDF, PNG, PNID, TG_TOKEN, env_for, ms_event, ms_webhook, tg_message, tg_update
from tests.live_server import live_server
from tests.test_channels import chat_on, fakes, message, settled  # fakes is a fixture

pytestmark = pytest.mark.both_backends

FAST = RetryPolicy(max_attempts=3, base=0.01, floor=0.01)


@pytest.fixture
def worker(store, fakes):
    w = DeliveryWorker(store, clients(), poll=0.05, policy=QUICK_DELIVERY).start()
    yield w
    w.stop()


@pytest.fixture
def paced_worker(store, fakes):
    """At delivery's real pace: for what the real waits are."""
    w = DeliveryWorker(store, clients(), poll=0.05).start()
    yield w
    w.stop()


def wa_ok(wamid="wamid.SLOW", delay=0.0) -> Reply:
    return Reply(200, {"messaging_product": "whatsapp", "messages": [{"id": wamid}]}, delay=delay)


def ms_ok(mid) -> Reply:
    return Reply(200, {"recipient_id": "PSID1", "message_id": mid})


# ---- one provider call per step ---------------------------------------------------------------
def test_messenger_caption_retry_does_not_resend_the_file(store, team, fakes, worker):
    ms = fakes[1]
    ms.script("messages", ms_ok("m_FILE"), server_error())  # the file goes, the caption hits a 500
    mid = actions.send_attachment(store, chat_on(store, "messenger"), team["budi"], "a.pdf", PDF, caption="the file")
    assert settled(store, mid) == {"status": "sent", "error": None, "provider_message_id": "m_FILE"}
    calls = ms.calls("messages")
    assert [("file" if c.files else c.json["message"]["text"]) for c in calls] == ["file", "the file", "the file"]


def test_retry_by_hand_resumes_at_the_step_that_failed(store, team, fakes, worker):
    ms = fakes[1]
    ms.script("messages", ms_ok("m_FILE"),
              graph_error(400, 10, "(#10) This message is sent outside of allowed window.", subcode=2018278))
    mid = actions.send_attachment(store, chat_on(store, "messenger"), team["budi"], "a.pdf", PDF, caption="cap")
    assert settled(store, mid)["error"] == "24-hour window closed — send a template"
    actions.retry(store, mid, team["budi"])
    assert settled(store, mid) == {"status": "sent", "error": None, "provider_message_id": "m_FILE"}
    assert len([c for c in ms.calls("messages") if c.files]) == 1  # the customer got the file once
    assert [c.json["message"]["text"] for c in ms.calls("messages") if not c.files] == ["cap", "cap"]


def test_whatsapp_send_retry_reuses_the_uploaded_media(store, team, fakes, worker):
    wa = fakes[0]
    wa.script("messages", server_error())
    mid = actions.send_attachment(store, chat_on(store, "whatsapp"), team["budi"], "p.png", PNG)
    assert settled(store, mid)["status"] == "sent"
    assert len(wa.calls("media")) == 1
    first, second = wa.sent()
    assert first["image"]["id"] == second["image"]["id"] == "MEDIA1"


# ---- a send that may have gone through is not made again ---------------------------------------
def test_no_answer_to_a_send_fails_it_instead_of_sending_twice(store, team, fakes, worker, monkeypatch):
    monkeypatch.setattr(base, "TIMEOUT", (2, 0.5))
    tg = fakes[2]
    tg.script("sendMessage", Reply(200, {"ok": True, "result": {"message_id": 9}}, delay=1.5))
    mid = actions.reply(store, chat_on(store, "telegram"), team["budi"], "halo")
    assert settled(store, mid)["error"] == ("Not sure it was sent (no answer: ReadTimeout): "
                                            "check with the customer, then retry")
    time.sleep(1.5)
    assert len(tg.sent()) == 1


def test_no_answer_to_an_upload_is_simply_retried(store, team, fakes, worker, monkeypatch):
    monkeypatch.setattr(base, "TIMEOUT", (2, 0.5))
    wa = fakes[0]
    wa.script("media", Reply(200, {"id": "LOST"}, delay=1.5))
    mid = actions.send_attachment(store, chat_on(store, "whatsapp"), team["budi"], "p.png", PNG)
    assert settled(store, mid)["status"] == "sent"
    assert len(wa.calls("media")) == 2 and wa.sent()[0]["image"]["id"] != "LOST"


def test_a_send_cut_off_by_a_crash_is_failed_not_resent(tmp_path, fakes):
    path = tmp_path / "crash.duckdb"
    s1 = Store(path, tmp_path / "media")
    agent = system.create_account(s1, "rina", "Rina", "rina-pass-1", "agent")
    cut = actions.reply(s1, chat_on(s1, "telegram"), agent, "in flight")
    waiting = actions.reply(s1, chat_on(s1, "whatsapp"), agent, "still queued")
    assert [r["message_id"] for r in outbox.claim(s1, "run-1", channel="telegram")] == [cut]
    assert outbox.sending(s1, cut, "run-1")  # committed; then the process died during the call
    s1.close()
    s2 = Store(path, tmp_path / "media")
    w = DeliveryWorker(s2, clients(), poll=0.05).start()
    try:
        assert settled(s2, waiting)["status"] == "sent"
        assert message(s2, cut) == {"status": "failed", "provider_message_id": None, "error": (
            "Not sure it was sent (the server stopped while sending): check with the customer, then retry")}
        assert fakes[2].sent() == []
        actions.retry(s2, cut, agent)  # a person checked: send it
        assert settled(s2, cut)["status"] == "sent"
    finally:
        w.stop()
        s2.close()
    assert [c.json["text"] for c in fakes[2].sent()] == ["in flight"]


# ---- lanes ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_hanging_channel_does_not_hold_back_the_others(store, team, fakes, worker):
    wa = fakes[0]
    wa.script("messages", wa_ok(delay=4))
    slow = actions.reply(store, chat_on(store, "whatsapp"), team["budi"], "slow")
    wa.wait_for("messages")  # WhatsApp's call hangs now
    start = time.monotonic()
    quick = actions.reply(store, chat_on(store, "telegram"), team["budi"], "quick")
    assert wait_until(lambda: message(store, quick)["status"] == "sent", 3.5)
    assert time.monotonic() - start < 1.0
    assert message(store, slow)["status"] == "pending"
    assert settled(store, slow)["status"] == "sent"


# ---- bounded Retry-After -------------------------------------------------------------------
def test_retry_after_zero_is_not_a_burst(store, team, fakes, paced_worker):
    wa = fakes[0]
    wa.script("messages", rate_limited(retry_after=0), rate_limited(retry_after=0))
    mid = actions.reply(store, chat_on(store, "whatsapp"), team["budi"], "x")
    assert settled(store, mid)["status"] == "sent"
    at = [c.at for c in wa.calls("messages")]
    assert len(at) == 3 and min(b - a for a, b in zip(at, at[1:])) >= 0.95


def test_retry_after_of_a_day_gives_up_with_the_reason(store, team, fakes, worker):
    wa = fakes[0]
    wa.script("messages", rate_limited(retry_after=86400))
    mid = actions.reply(store, chat_on(store, "whatsapp"), team["budi"], "x")
    error = settled(store, mid)["error"]
    assert error.startswith("Could not send: WhatsApp answered 429") and "asked to wait 24 h" in error
    assert len(wa.calls("messages")) == 1


def test_one_retry_policy():
    assert DELIVERY.decide(1, RetryLater("429", retry_after=0)) == 1.0          # floor
    assert DELIVERY.decide(1, RetryLater("429", retry_after=30)) == 30.0        # the provider's word
    assert DELIVERY.decide(1, RetryLater("429", retry_after=86400)) is None     # beyond the cap: give up
    assert POLLING.decide(1, RetryLater("429", retry_after=86400)) == 60.0      # polling never gives up
    assert POLLING.decide(50, Permanent("bad token")) == 60.0
    assert DELIVERY.decide(1, Permanent("refused")) is None
    assert DELIVERY.decide(8, RetryLater("500")) is None
    assert 0.8 <= DELIVERY.decide(1, OSError(30, "Read-only file system")) <= 1.2  # any failure counts
    assert DELIVERY.decide(7, ValueError("bug")) <= 900
    assert i18n.shown(DELIVERY.gave_up(later._("Could not send"), 8, OSError(30, "Read-only file system"))) == (
        "Could not send after 8 attempts: OSError: Read-only file system")


# ---- the fetcher gives up too --------------------------------------------------------------
def _unwritable(store, tmp_path):
    """The media folder cannot be written (as root a chmod does not stop
    writes, so a file stands where the folder should be)."""
    (tmp_path / "not-a-folder").write_bytes(b"")
    store.media_dir = tmp_path / "not-a-folder" / "media"


def test_media_into_an_unwritable_folder_gives_up_and_others_still_run(store, fakes, tmp_path):
    ms = fakes[1]
    url = ms.file_url("doc.pdf", PDF, "application/pdf")
    ms.profiles["PSIDP"] = ("Maria", "Lopez")
    store_parsed(store, messenger.parse(ms_webhook([ms_event("PSIDX", mid="m_F", attachments=[
        {"type": "file", "payload": {"url": url}}]), ms_event("PSIDP", text="halo")])))
    _unwritable(store, tmp_path)
    fetcher = Fetcher(store, clients(), policy=FAST)
    fetcher.run_once()
    assert store.one("SELECT contact_name FROM chats WHERE channel_user_id = 'PSIDP'")[0] == "Maria Lopez"
    assert wait_until(lambda: (fetcher.run_once() or True)
                      and store.one("SELECT count(*) FROM pending_media")[0] == 0, 5, 0.05)
    assert len(ms.calls("doc.pdf")) == 3
    error = i18n.shown(store.one("SELECT error FROM messages WHERE provider_message_id = 'm_F'")[0])
    assert error.startswith("The file could not be fetched after 3 attempts: The file could not be stored on the server"
                            " (Not a directory)")


def test_a_profile_lookup_that_keeps_failing_is_given_up(store, fakes):
    ms = fakes[1]
    ms.profiles["PSIDB"] = ({"not": "a name"}, "x")  # a shape the client does not expect
    store_parsed(store, messenger.parse(ms_webhook([ms_event("PSIDB", text="halo")])))
    fetcher = Fetcher(store, clients(), policy=FAST)
    assert wait_until(lambda: (fetcher.run_once() or True)
                      and store.one("SELECT done FROM pending_profiles")[0], 5, 0.05)
    assert len(ms.calls("PSIDB")) == 3
    assert store.one("SELECT contact_name FROM chats")[0] == "PSIDB"  # the placeholder stays


def test_template_submission_that_keeps_failing_is_given_up(store, fakes):
    wa = fakes[0]
    wa.script("message_templates", server_error(), server_error(), server_error())
    tid = system.create_template(store, channel="whatsapp", name="promo", language="id",
                                 category="MARKETING", body="Halo")
    fetcher = Fetcher(store, clients(), policy=FAST)
    assert wait_until(lambda: (fetcher.run_once() or True)
                      and store.one("SELECT status FROM templates WHERE id = ?", [tid])[0] != "Pending", 5, 0.05)
    status, reason = store.one("SELECT status, status_reason FROM templates WHERE id = ?", [tid])
    assert status == "Rejected" and i18n.shown(reason).startswith("Could not send it to WhatsApp for review after 3 attempts")
    assert len(wa.templates) == 0 and len(wa.calls("message_templates")) == 3


# ---- the real server, killed while its sends are in flight --------------------------------
def _server_pid(base_url: str) -> int:
    from tests.test_channels_e2e import _server_pid as pid
    return pid(base_url)


def test_replies_in_flight_at_a_kill_9_are_not_sent_again(tmp_path):
    wa, ms, tg = FakeWhatsApp(phone_number_id=PNID), FakeMessenger(), FakeTelegram(token=TG_TOKEN)
    try:
        s = Store(tmp_path / "server.duckdb", tmp_path / "media")
        agent = system.create_account(s, "budi", "Budi", "budi-pass-1", "agent")
        queued = {ch: actions.reply(s, chat_on(s, ch), agent, f"once on {ch}") for ch in ("whatsapp", "messenger", "telegram")}
        s.close()
        wa.script("messages", wa_ok(delay=10))
        ms.script("messages", Reply(200, {"recipient_id": "PSID1", "message_id": "m_X"}, delay=10))
        tg.script("sendMessage", Reply(200, {"ok": True, "result": {"message_id": 1}}, delay=10))
        env = env_for(wa, ms, tg)
        with live_server(tmp_path, env=env) as base_url:
            for fake, key in ((wa, "messages"), (ms, "messages"), (tg, "sendMessage")):
                fake.wait_for(key, 1, timeout=20)
            os.kill(_server_pid(base_url), signal.SIGKILL)  # every call is waiting for its answer
        with live_server(tmp_path, env=env):
            time.sleep(1.5)  # several polls of every lane
        s = Store(tmp_path / "server.duckdb", tmp_path / "media")
        try:
            rows = dict(s.all("SELECT id, status || ': ' || error FROM messages WHERE id IN (SELECT unnest(?))",
                              [list(queued.values())]))
        finally:
            s.close()
        assert len(wa.calls("messages")) == len(ms.calls("messages")) == len(tg.sent()) == 1
        assert set(rows.values()) == {"failed: " + outbox.UNSURE_AFTER_RESTART}
    finally:
        for f in (wa, ms, tg):
            f.close()
