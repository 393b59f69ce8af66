"""Demo data: a living inbox for a newcomer, and the 100k-chat / 2M-message
data set the benchmarks run on. Both come from one bulk generator that
writes with set-based inserts on the writer thread (150k+ rows/s), so the
big data set takes seconds, not hours."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from . import accounts, facts, labels, settings, system, templates
from .common import CHANNELS, preview, search_key
from .errors import ValidationError
from .progress import Report
from .store import Store, Writer, utcnow

DEMO_PASSWORD = "demo1234"
DEMO_ADMIN_PASSWORD = "admin1234"  # the demo's first admin, unless MAXCHAT_ADMIN_PASSWORD says otherwise
DEMO_AGENTS = [  # username, display name, role, active
    ("sari", "Sari Wulandari", "supervisor", True),
    ("budi", "Budi Santoso", "agent", True),
    ("maria", "Maria Lopez", "agent", True),
    ("dewi", "Dewi Lestari", "agent", True),
    ("joko", "Joko Prasetyo", "agent", False),
    ("lina", "Lina Marlina", "analyst", True),  # reads chats, Monitor, Reports and SQL; acts on none
]
DEMO_LABELS = [("VIP", "Purple"), ("Complaint", "Red"), ("New customer", "Green"), ("Order", "Blue"),
               ("Follow up", "Orange"), ("Reseller", "Teal")]
DEMO_TEMPLATES = [  # channel, name, language, category, body, status, initiate
    ("whatsapp", "order_update", "id", "UTILITY", "Halo {{1}}, pesanan Anda {{2}} sudah kami kirim. Terima kasih!", "Accepted", True),
    ("whatsapp", "follow_up", "en", "UTILITY", "Hi {{1}}, we are following up on your question. Reply to this message to continue the chat.", "Accepted", True),
    ("whatsapp", "payment_reminder", "id", "UTILITY", "Halo {{1}}, tagihan {{2}} jatuh tempo pada {{3}}.", "Accepted", False),
    ("whatsapp", "promo_akhir_tahun", "id", "MARKETING", "Diskon akhir tahun hingga 50% untuk {{1}}!", "Pending", True),
    ("whatsapp", "flash_sale", "en", "MARKETING", "Flash sale today only, {{1}}!", "Rejected", True),
    ("messenger", "follow_up", "en", "UTILITY", "Hi {{1}}, we have an update on your request. Reply to continue.", "Accepted", True),
    ("telegram", "welcome_back", "id", "UTILITY", "Halo {{1}}, ada yang bisa kami bantu lagi?", "Accepted", True),
]
FIRST = ["Ahmad", "Siti", "Budi", "Dewi", "Rizky", "Putri", "Agus", "Rina", "Fajar", "Nur", "Andi", "Ayu", "Eko",
         "Indah", "Hendra", "Wahyu", "Yulia", "Bayu", "Citra", "Dimas", "Kartika", "Teguh", "Lestari", "Gita",
         "James", "Emily", "Michael", "Sarah", "David", "Olivia", "Daniel", "Sophie", "Chloé", "José", "Zoë", "Renée"]
LAST = ["Saputra", "Rahmawati", "Hidayat", "Kusuma", "Wijaya", "Pratama", "Nugroho", "Lubis", "Siregar",
        "Setiawan", "Halim", "Gunawan", "Susanto", "Smith", "Johnson", "Brown", "Taylor", "Müller", "García", "Nguyen"]
CUSTOMER_LINES = [
    "Halo kak, pesanan saya sudah dikirim belum?", "Apakah produk ini masih tersedia?", "Berapa ongkir ke Surabaya?",
    "Saya mau retur barang, caranya bagaimana?", "Kak, bisa minta nomor resi?", "Terima kasih, barangnya sudah sampai 🙏",
    "Hi, I'd like to change my delivery address.", "Is there a discount for bulk orders?", "My payment failed, can you help?",
    "When will my order arrive?", "Do you ship to Singapore?", "The item I received is damaged 😢",
    "Bisa bayar pakai transfer BCA?", "Ukuran L masih ada kak?", "Thanks, that solved it!", "Halo, saya mau tanya promo.",
]
AGENT_LINES = [
    "Halo kak, terima kasih sudah menghubungi kami 😊", "Baik kak, kami cek dulu ya.", "Pesanan kakak sudah dikirim, resi JNE0123456789.",
    "Masih tersedia kak, silakan order.", "Hi! Thanks for reaching out, let me check that for you.",
    "Your order is on its way and should arrive in 2-3 days.", "I've updated your address.", "Sorry about that, we'll send a replacement.",
    "Ongkir ke Surabaya Rp 15.000 kak.", "You're welcome! Have a great day 👋",
]
NOTES = ["Pelanggan setia, sudah order 5x.", "Prefers English.", "Minta dihubungi sore hari.", "Asked about reseller pricing.",
         "Komplain keterlambatan pengiriman bulan lalu."]


def seed_reference_data(store: Store) -> dict:
    """Agents, labels and templates of the demo (idempotent by name)."""
    ids = {}
    for username, name, role, active in DEMO_AGENTS:
        found = store.one("SELECT id FROM agents WHERE username = ?", [username])
        ids[username] = found[0] if found else system.create_account(store, username, name, DEMO_PASSWORD, role,
                                                                     active=active)
    existing = {l["name"] for l in labels.list_labels(store)}
    for name, color in DEMO_LABELS:
        if name not in existing:
            system.create_label(store, name, labels.PALETTE[color])
    have = {(t["channel"], t["name"], t["language"]) for t in templates.list_templates(store)}
    for channel, name, lang, category, body, status, initiate in DEMO_TEMPLATES:
        if (channel, name, lang) in have:
            continue
        tid = system.create_template(store, channel=channel, name=name, language=lang, category=category, body=body,
                                     initiate=initiate)
        if status != ("Pending" if channel == "whatsapp" else "Accepted"):
            system.review_template(store, tid, status, "Demo review" if status == "Rejected" else None)
    return ids


# Each batch of chats is its own write job (its own transaction), sized to
# take about BATCH_SECONDS: well inside the writer's time limit even on a
# machine many times slower than expected, and memory stays that of one batch
# (at most BATCH_MESSAGES messages) whatever the number of chats.
BATCH_SECONDS = 4.0
BATCH_MESSAGES = 200_000
FIRST_BATCH = 2_000  # chats: the first batch measures the pace


def generate(store: Store, chats: int, messages_per_chat: float = 8.0, seed: int = 7,
             spread_days: float = 3.0, *, batch: int | None = None, progress: Report | None = None) -> dict:
    """Add ``chats`` chats with about ``messages_per_chat`` messages each, in
    batches (``batch`` chats each, or sized by the pace so far), each
    committed on its own; ``progress(chats done, chats)`` after each.
    Every status, channel and label appears; some windows are closed."""
    if store.dialect != "duckdb":
        # The bulk load goes through DuckDB's in-memory tables.
        raise ValidationError("Demo data is made in a DuckDB file: run the demo on one (MAXCHAT_DB), then copy it"
                              " with python -m maxchat_data migrate --to postgresql://…")
    if batch is not None and batch < 1:
        raise ValidationError("A batch holds at least one chat.")
    settings.put(store, settings.DEMO_DATA, "1")  # remembered: demo logins are refused outside demo mode
    seed_reference_data(store)
    agents = [a["id"] for a in accounts.assignable_agents(store)]
    label_ids = [l["id"] for l in labels.list_labels(store)]
    largest = max(1, int(BATCH_MESSAGES / max(1.0, messages_per_chat)))
    size = batch or min(FIRST_BATCH, largest)
    made = {"chats": 0, "messages": 0}
    i = 0
    while made["chats"] < chats:
        n = min(size, chats - made["chats"])
        started = time.perf_counter()
        # The first batch draws from ``seed`` alone, so a small demo is the same as ever.
        part = store.write(_generate, n, messages_per_chat, seed if i == 0 else (seed, i), spread_days, agents,
                           label_ids)
        if batch is None:
            pace = n / max(time.perf_counter() - started, 1e-3)  # chats per second
            size = max(100, min(largest, int(pace * BATCH_SECONDS)))
        made = {k: made[k] + part[k] for k in made}
        i += 1
        if progress:
            progress(made["chats"], chats)
    return made


def _generate(w: Writer, n: int, per_chat: float, seed: int | tuple, spread_days: float, agents, label_ids) -> dict:
    rng = np.random.default_rng(seed)
    now = utcnow()
    chat_ids = np.array(w.ids.take("chats", n), dtype=np.int64)
    contact_ids = np.array(w.ids.take("contacts", n), dtype=np.int64)
    session_ids = np.array(w.ids.take("sessions", n), dtype=np.int64)
    channel = rng.choice(np.array(CHANNELS), n, p=[0.6, 0.25, 0.15])
    first, last = np.array(FIRST, dtype=object), np.array(LAST, dtype=object)
    names = first[rng.integers(0, len(first), n)] + " " + last[rng.integers(0, len(last), n)]
    user_id = np.where(channel == "whatsapp", [f"628{c:010d}" for c in chat_ids],
                       np.where(channel == "messenger", [f"{7000000000000000 + c}" for c in chat_ids],
                                [f"{500000000 + c}" for c in chat_ids])).astype(object)
    phone = np.where(channel == "whatsapp", "+" + user_id, None)

    # Last activity spread over the period; recent ones more likely.
    age_s = rng.exponential(spread_days * 86400 / 3, n).clip(0, spread_days * 86400)
    last_at = pd.Timestamp(now) - pd.to_timedelta(age_s, unit="s")
    status = rng.choice(np.array(["Open", "Answered", "Resolved"]), n, p=[0.25, 0.35, 0.40])
    assignee = np.where(status == "Answered", rng.choice(np.array(agents), n), -1)
    archived = (status == "Resolved") & (rng.random(n) < 0.1)
    blocked = rng.random(n) < 0.01
    initiated = np.where(rng.random(n) < 0.1, "Business initiate", "User initiate")

    # Messages: k per chat, alternating customer / agent, newest at last_at.
    k = rng.integers(1, max(2, int(2 * per_chat)), n)
    total = int(k.sum())
    msg_ids = np.array(w.ids.take("messages", total), dtype=np.int64)
    owner = np.repeat(np.arange(n), k)
    pos_from_end = (np.arange(total) - np.repeat(np.cumsum(k) - k, k))
    pos_from_end = np.repeat(k, k) - 1 - pos_from_end
    gaps = rng.exponential(600, total)
    sent_at = last_at[owner] - pd.to_timedelta(pos_from_end * gaps, unit="s")
    # The last message is the customer's for Open chats, else alternate.
    direction = np.where((pos_from_end % 2 == 0) == (status[owner] == "Open"), "in",
                         np.where(pos_from_end % 2 == 0, "out", "in"))
    direction = np.where(pos_from_end == np.repeat(k, k) - 1, "in", direction)  # first one: customer
    cust, agent_lines = np.array(CUSTOMER_LINES, dtype=object), np.array(AGENT_LINES, dtype=object)
    body = np.where(direction == "in", cust[rng.integers(0, len(cust), total)],
                    agent_lines[rng.integers(0, len(agent_lines), total)])
    out_status = rng.choice(np.array(["read", "delivered", "sent", "failed"]), total, p=[0.6, 0.25, 0.13, 0.02])
    msg_status = np.where(direction == "in", "received", out_status)
    error = np.where(msg_status == "failed", "24-hour window closed — send a template", None)
    sender = np.where(direction == "out", np.where(assignee[owner] >= 0, assignee[owner],
                                                   rng.choice(np.array(agents), total)), -1)
    messages = pd.DataFrame({
        "id": msg_ids, "chat_id": chat_ids[owner], "session_id": session_ids[owner], "channel": channel[owner],
        "direction": direction, "sender_agent_id": pd.array(np.where(sender >= 0, sender, 0), dtype="Int32"),
        "kind": "text", "body": body, "provider_message_id": [f"demo.{i}" for i in msg_ids],
        "status": msg_status, "error": error, "notify": False, "sent_at": sent_at, "created_at": sent_at})
    messages.loc[messages.direction == "in", "sender_agent_id"] = pd.NA
    w.con.register("demo_messages", messages)
    w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, sender_agent_id, kind, body,"
              " provider_message_id, status, error, notify, sent_at, created_at) SELECT * FROM demo_messages")
    w.con.unregister("demo_messages")

    last_idx = np.cumsum(k) - 1
    first_idx = last_idx - k + 1
    inbound_at = pd.Series(np.where(direction == "in", sent_at, pd.NaT)).groupby(owner).max().values
    unread = np.where((status == "Open") & (direction[last_idx] == "in"), rng.integers(1, 4, n), 0)
    chat_labels = [sorted(rng.choice(label_ids, rng.integers(1, 3), replace=False).tolist())
                   if label_ids and r < 0.3 else [] for r in rng.random(n)]
    chats_df = pd.DataFrame({
        "id": chat_ids, "contact_id": contact_ids, "channel": channel, "channel_user_id": user_id,
        "contact_name": names, "search_name": [search_key(x) for x in names], "status": status,
        "assignee_id": pd.array(np.where(assignee >= 0, assignee, 0), dtype="Int32"),
        "archived": archived, "blocked": blocked, "label_ids": chat_labels, "unread": unread,
        "last_message_at": sent_at[last_idx], "last_preview": [preview(b) for b in body[last_idx]],
        "last_direction": direction[last_idx], "last_inbound_at": inbound_at, "session_id": session_ids,
        "created_at": sent_at[first_idx]})
    chats_df.loc[assignee < 0, "assignee_id"] = pd.NA
    contacts_df = pd.DataFrame({"id": contact_ids, "name": names, "email": None, "company": None,
                                "phone": phone, "blocked": blocked, "created_at": sent_at[first_idx]})
    sessions_df = pd.DataFrame({
        "id": session_ids, "chat_id": chat_ids, "initiated_by": initiated, "started_at": sent_at[first_idx],
        "first_response_at": sent_at[np.minimum(first_idx + 1, last_idx)],
        "resolved_at": pd.Series(np.where(status == "Resolved", last_at + pd.Timedelta(minutes=5), pd.NaT)),
        "resolved_by": pd.array(np.where(status == "Resolved", rng.choice(np.array(agents), n), 0), dtype="Int32")})
    sessions_df.loc[status != "Resolved", "resolved_by"] = pd.NA
    labels_df = pd.DataFrame([(int(c), int(l)) for c, ls in zip(contact_ids, chat_labels) for l in ls],
                             columns=["contact_id", "label_id"])
    note_rows = rng.random(n) < 0.1
    notes_df = pd.DataFrame({
        "id": np.array(w.ids.take("notes", int(note_rows.sum())), dtype=np.int64),
        "contact_id": contact_ids[note_rows], "chat_id": chat_ids[note_rows],
        "author_id": rng.choice(np.array(agents), int(note_rows.sum())),
        "body": np.array(NOTES, dtype=object)[rng.integers(0, len(NOTES), int(note_rows.sum()))],
        "created_at": sent_at[last_idx][note_rows]})
    for table, df in (("contacts", contacts_df), ("chats", chats_df), ("sessions", sessions_df),
                      ("contact_labels", labels_df), ("notes", notes_df)):
        w.con.register("demo_frame", df)
        w.execute(f"INSERT INTO {table} ({', '.join(df.columns)}) SELECT * FROM demo_frame")
        w.con.unregister("demo_frame")
    # Activity lines for what agents did, so threads show C6 events.
    w.execute("INSERT INTO events SELECT ? + row_number() OVER () - 1, c.id, s.resolved_by, 'resolve', 'demo', s.resolved_at"
              " FROM chats c JOIN sessions s ON s.id = c.session_id WHERE c.id >= ? AND c.status = 'Resolved'",
              [w.ids.take("events", n).start, int(chat_ids[0])])
    w.forget_caches()  # the chat-key map does not know the bulk-loaded chats
    facts.fold(w)
    return {"chats": n, "messages": total}


def seed_if_empty(store: Store, chats: int = 60) -> bool:
    """The README's run command: a small living inbox on an empty database."""
    if store.one("SELECT count(*) FROM chats")[0]:
        return False
    generate(store, chats, messages_per_chat=6, spread_days=2.0)
    return True


def known_logins_left(store: Store) -> list[str]:
    """Active accounts of a database once filled with demo data that still
    log in with a password printed in the README: outside demo mode the
    server refuses to start with them."""
    if settings.get(store, settings.DEMO_DATA) != "1":
        return []
    return [a["username"] for a in accounts.list_agents(store, active_only=True)
            if any(accounts.authenticate(store, a["username"], p) for p in (DEMO_PASSWORD, DEMO_ADMIN_PASSWORD))]
