"""Demo data: a living inbox for a newcomer, and the 100k-chat / 2M-message
data set the benchmarks run on. Both come from one bulk generator that
writes with set-based inserts on the writer thread (150k+ rows/s), so the
big data set takes seconds, not hours."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from . import accounts, facts, labels, quick_replies, settings, system, templates
from .common import CHANNELS, preview, search_key
from .engine import label_bits
from .errors import ValidationError
from .i18n import _
from .progress import Report
from .store import Store, Writer, utcnow

DEMO_PASSWORD = "demo1234"
DEMO_ADMIN_PASSWORD = "admin1234"  # the demo's first admin, unless MAXCHAT_ADMIN_PASSWORD says otherwise
DEMO_AGENTS = [  # username, display name, role, active
    ("sari", "Sari Wulandari", "supervisor", True),
    ("budi", "Budi Santoso", "agent", True),
    ("maria", "Maria Simanjuntak", "agent", True),
    ("dewi", "Dewi Lestari", "agent", True),
    ("joko", "Joko Prasetyo", "agent", False),
    ("lina", "Lina Marlina", "analyst", True),  # reads chats, Monitor, Reports and SQL; acts on none
]
# The demo speaks Indonesian like the teams it is for: what follows is data
# (customers', agents' and the team's own words), never passed through _().
DEMO_LABELS = [("VIP", "Purple"), ("Komplain", "Red"), ("Pelanggan baru", "Green"), ("Pesanan", "Blue"),
               ("Tindak lanjut", "Orange"), ("Reseller", "Teal")]
DEMO_TEMPLATES = [  # channel, name, language, category, body, status, initiate
    ("whatsapp", "order_update", "id", "UTILITY",
     "Halo {{1}}, pesanan Anda {{2}} sudah kami kirim. Terima kasih sudah berbelanja!", "Accepted", True),
    ("whatsapp", "tindak_lanjut", "id", "UTILITY",
     "Halo {{1}}, kami ingin menindaklanjuti pertanyaan Anda. Balas pesan ini untuk melanjutkan chat.",
     "Accepted", True),
    ("whatsapp", "pengingat_pembayaran", "id", "UTILITY",
     "Halo {{1}}, tagihan {{2}} jatuh tempo pada {{3}}. Abaikan pesan ini bila sudah membayar.", "Accepted", False),
    ("whatsapp", "promo_akhir_tahun", "id", "MARKETING", "Diskon akhir tahun hingga 50% untuk {{1}}! Cek katalog kami.",
     "Pending", True),
    ("whatsapp", "flash_sale", "id", "MARKETING", "Flash sale hari ini saja, {{1}}!", "Rejected", True),
    ("messenger", "tindak_lanjut", "id", "UTILITY", "Halo {{1}}, ada kabar terbaru untuk permintaan Anda. Balas untuk melanjutkan.",
     "Accepted", True),
    ("telegram", "selamat_datang_kembali", "id", "UTILITY", "Halo {{1}}, ada yang bisa kami bantu lagi?", "Accepted", True),
]
DEMO_REJECTION = "Isi promosi terlalu umum: sebutkan produk dan periode promonya."
DEMO_QUICK_REPLIES = [  # shortcut, body: shared by the team
    ("salam", "Halo kak {{contact.name}}, selamat datang di toko kami 😊 Saya {{agent.name}}, ada yang bisa dibantu?"),
    ("terimakasih", "Terima kasih kak {{contact.name}} sudah menghubungi kami 🙏 Semoga harinya menyenangkan!"),
    ("cek", "Baik kak, mohon ditunggu sebentar ya, kami cek dulu."),
    ("resi", "Pesanan kakak sudah dikirim, nomor resinya bisa dicek di menu Pesanan Saya ya kak."),
    ("rekening", "Pembayaran bisa transfer ke BCA 123-456-7890 a.n. Toko Maju Jaya. Mohon kirim bukti transfer ya kak."),
    ("ongkir", "Ongkir dihitung otomatis saat checkout sesuai alamat dan kurir yang kakak pilih."),
    ("retur", "Untuk retur, mohon kirim foto/video barang dan nomor pesanan ya kak. Batas retur 7 hari setelah barang diterima."),
]
FIRST = ["Ahmad", "Siti", "Rizky", "Putri", "Agus", "Rina", "Fajar", "Nur", "Andi", "Ayu", "Eko", "Indah", "Hendra",
         "Wahyu", "Yulia", "Bayu", "Citra", "Dimas", "Kartika", "Teguh", "Lestari", "Gita", "Made", "Ketut", "Nyoman",
         "Wayan", "Ucok", "Butet", "Asep", "Euis", "Ujang", "Neng", "Slamet", "Sri", "Yohanes", "Fransiska", "Ikhsan",
         "Nabila", "Rafi", "Aulia", "Galih", "Intan", "Reza", "Anisa", "Hana", "Farhan"]
LAST = ["Saputra", "Rahmawati", "Hidayat", "Kusuma", "Wijaya", "Pratama", "Nugroho", "Lubis", "Siregar", "Setiawan",
        "Halim", "Gunawan", "Susanto", "Nasution", "Harahap", "Sembiring", "Tarigan", "Simatupang", "Manurung",
        "Sitompul", "Suryadi", "Permana", "Firmansyah", "Kurniawan", "Hakim", "Maulana", "Wibowo", "Purnomo",
        "Daulay", "Tanjung", "Widjaja", "Santoso", "Putra", "Dewi", "Anggraini"]
# Scripted conversations: each chat follows one, customer and team taking
# turns (orders, shipping, payment, complaints, returns). Its customer lines
# read right also when nobody has answered yet. A chat longer than its
# script goes on with the short lines below.
CONVERSATIONS = [
    (["Halo kak, pesanan saya INV-20231 sudah dikirim belum ya?", "Soalnya mau dipakai hari Sabtu kak",
      "Oke kak, nanti saya cek resinya", "Sudah sampai kak, terima kasih 🙏"],
     ["Halo kak, terima kasih sudah menghubungi kami 😊 Mohon ditunggu, kami cek dulu ya.",
      "Pesanan kakak sudah dikirim kemarin lewat JNE, resi JNE0123456789. Estimasi tiba 1-2 hari.",
      "Siap kak, kalau ada kendala kabari kami ya.", "Sama-sama kak, ditunggu order berikutnya!"]),
    (["Permisi kak, kemeja batik yang biru ukuran L masih ada?", "Kalau ukuran XL ada juga?",
      "Oke saya ambil yang L 2 pcs ya", "Sudah saya checkout kak"],
     ["Halo kak, ukuran L masih ready ya 😊", "Untuk XL tinggal warna coklat kak, yang biru sudah habis.",
      "Baik kak, silakan checkout lewat link katalog ya.", "Terima kasih kak, pesanan kami proses hari ini."]),
    (["Berapa ongkir ke Surabaya kak?", "Kalau pakai SiCepat berapa lama sampainya?", "Bisa COD?"],
     ["Ongkir ke Surabaya mulai Rp15.000 kak, tergantung berat paket.",
      "SiCepat REG biasanya 2-3 hari kerja kak.", "Bisa kak, COD tersedia untuk wilayah Surabaya."]),
    (["Kak, saya sudah transfer tapi status pesanan masih belum dibayar", "Transfer ke BCA jam 10 tadi kak",
      "Ini bukti transfernya ya kak", "Oke kak makasih"],
     ["Mohon maaf kak atas ketidaknyamanannya. Boleh kirim nomor pesanannya?",
      "Baik kak, verifikasi transfer manual biasanya 1x24 jam. Bisa dibantu kirim bukti transfernya?",
      "Sudah kami terima kak, pembayaran sudah terverifikasi ✅ Pesanan segera dikemas.",
      "Sama-sama kak 🙏"]),
    (["Barang yang saya terima rusak kak, kacanya pecah 😢", "Ini fotonya kak",
      "Saya minta ganti barang baru ya", "Oke ditunggu kak"],
     ["Mohon maaf sekali kak atas kejadian ini 🙏 Boleh dikirim foto barang dan kemasannya?",
      "Sudah kami terima kak. Kami kirimkan barang pengganti tanpa biaya tambahan ya.",
      "Barang pengganti dikirim besok pagi kak, resinya kami kabari.",
      "Resi pengganti: SPX0099887766. Sekali lagi mohon maaf ya kak."]),
    (["Kak, paket saya sudah 5 hari belum sampai", "Di tracking statusnya masih di gudang Jakarta",
      "Tolong dibantu ya kak, sudah lama banget"],
     ["Mohon maaf atas keterlambatannya kak. Boleh minta nomor resinya?",
      "Kami sudah hubungi pihak kurir kak, paket tertahan karena volume tinggi. Estimasi sampai besok.",
      "Kami pantau terus ya kak. Sebagai permintaan maaf, kami beri voucher ongkir untuk order berikutnya."]),
    (["Halo, mau tanya promo akhir tahun masih berlaku?", "Diskonnya berlaku untuk semua produk?",
      "Kode vouchernya apa kak?"],
     ["Halo kak, promo akhir tahun berlaku sampai 31 Desember 😊",
      "Diskon hingga 50% untuk produk tertentu kak, yang ada label PROMO di katalog.",
      "Pakai kode AKHIRTAHUN saat checkout ya kak."]),
    (["Kak saya mau ganti alamat pengiriman, bisa?", "Alamat baru: Jl. Merdeka No. 10, Bandung",
      "Terima kasih kak"],
     ["Bisa kak, selama pesanan belum dikirim. Silakan kirim alamat lengkapnya.",
      "Alamat sudah kami perbarui ya kak.", "Sama-sama kak, semoga paketnya cepat sampai!"]),
    (["Kak, saya mau retur karena ukurannya kekecilan", "Caranya bagaimana ya?", "Ongkir returnya siapa yang bayar?"],
     ["Bisa kak, retur maksimal 7 hari setelah barang diterima.",
      "Kirim foto barang dan nomor pesanan di sini ya kak, nanti kami kirim alamat retur.",
      "Untuk tukar ukuran, ongkir kirim balik dari kami kak 😊"]),
    (["Bisa bayar pakai QRIS kak?", "Kalau cicilan kartu kredit bisa?", "Oke saya bayar pakai QRIS saja"],
     ["Bisa kak, QRIS muncul di halaman pembayaran.", "Cicilan 0% tersedia untuk BCA dan Mandiri minimal Rp500.000 kak.",
      "Baik kak, setelah bayar pesanan otomatis diproses."]),
    (["Halo kak, saya mau jadi reseller, syaratnya apa?", "Minimal order berapa pcs?",
      "Oke kak, saya isi formnya sekarang"],
     ["Halo kak, senang sekali 😊 Syaratnya cukup isi form pendaftaran reseller.",
      "Minimal order 12 pcs campur model kak, diskon reseller 20%.", "Siap kak, kami tunggu ya!"]),
    (["Pesanan saya kok dibatalkan otomatis kak?", "Padahal saya sudah mau bayar",
      "Bisa dipesan ulang dengan harga yang sama?"],
     ["Mohon maaf kak, pesanan yang belum dibayar dalam 24 jam dibatalkan otomatis oleh sistem.",
      "Kami bantu buatkan pesanan baru ya kak.", "Bisa kak, harga promonya kami kunci sampai besok."]),
    (["Kak, barangnya kurang 1, saya pesan 3 yang datang cuma 2", "Ini foto isi paketnya"],
     ["Mohon maaf kak atas kekurangannya 🙏 Kami cek ke bagian gudang dulu ya.",
      "Benar kak, ada kesalahan pengemasan. Kekurangannya kami kirim hari ini juga."]),
    (["Kak, minta invoice untuk klaim kantor bisa?", "Atas nama PT Sinar Abadi ya kak", "Sudah masuk, makasih kak"],
     ["Bisa kak, mohon info nama perusahaan untuk invoicenya.",
      "Invoice sudah kami kirim ke email kakak ya.", "Sama-sama kak 😊"]),
]
MORE_FROM_CUSTOMER = ["Oke kak", "Baik, terima kasih kak", "Kak?", "Ditunggu kabarnya ya kak", "Siap kak 👍",
                      "Halo, masih ada yang jaga?", "Oke noted kak"]
MORE_FROM_TEAM = ["Baik kak, ada lagi yang bisa kami bantu?", "Siap kak 😊", "Terima kasih atas kesabarannya kak 🙏",
                  "Kami kabari lagi secepatnya ya kak.", "Sama-sama kak, selamat berbelanja kembali!"]
NOTES = ["Pelanggan setia, sudah order 5x.", "Lebih suka dihubungi lewat WhatsApp.", "Minta dihubungi sore hari.",
         "Tanya harga reseller, kirim katalog grosir.", "Komplain keterlambatan pengiriman bulan lalu.",
         "Alamat kantor, pengiriman hanya hari kerja."]


def _lines() -> tuple[np.ndarray, dict]:
    """Every line in one array, and where each side's script table (padded to
    its longest script) and extra lines start in it, with each script's length."""
    pool, sides = [], {}
    for side, extra in ((0, MORE_FROM_CUSTOMER), (1, MORE_FROM_TEAM)):
        depth = max(len(c[side]) for c in CONVERSATIONS)
        sides[side] = {"table": len(pool), "depth": depth, "more": len(pool) + depth * len(CONVERSATIONS),
                       "extra": len(extra), "length": np.array([len(c[side]) for c in CONVERSATIONS])}
        pool += [line for c in CONVERSATIONS for line in list(c[side]) + [None] * (depth - len(c[side]))] + extra
    return np.array(pool, dtype=object), sides


LINES, SIDES = _lines()


def message_texts(rng: np.random.Generator, k: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The text of every message: chat i has ``k[i]`` messages, oldest first,
    with ``direction`` ("in" / "out") each. Each chat follows one scripted
    conversation, each side's n-th message its n-th line. Set-based, on
    integer positions in LINES (2M messages in a fraction of a second)."""
    script = np.repeat(rng.integers(0, len(CONVERSATIONS), len(k)), k)
    starts = np.repeat(np.cumsum(k) - k, k)
    inbound = direction == "in"
    at = np.empty(len(direction), dtype=np.int64)
    for side, mine in ((0, inbound), (1, ~inbound)):
        before = np.cumsum(mine) - mine  # this side's messages before each message, in the whole run ...
        nth = before - before[starts]    # ... and in its own chat
        s = SIDES[side]
        at[mine] = np.where(nth < s["length"][script], s["table"] + script * s["depth"] + nth,
                            s["more"] + rng.integers(0, s["extra"], len(direction)))[mine]
    return LINES[at]


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
            system.create_label(store, name, color)
    have = {(t["channel"], t["name"], t["language"]) for t in templates.list_templates(store)}
    for channel, name, lang, category, body, status, initiate in DEMO_TEMPLATES:
        if (channel, name, lang) in have:
            continue
        tid = system.create_template(store, channel=channel, name=name, language=lang, category=category, body=body,
                                     initiate=initiate)
        if status != ("Pending" if channel == "whatsapp" else "Accepted"):
            system.review_template(store, tid, status, DEMO_REJECTION if status == "Rejected" else None)
    shared = {q["shortcut"] for q in quick_replies.shared(store)}
    for shortcut, body in DEMO_QUICK_REPLIES:
        if shortcut not in shared:
            system.create_quick_reply(store, shortcut, body)
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
    if not store.engine.reads_frames:
        # The bulk load reads pandas frames registered on DuckDB's connection.
        raise ValidationError(_("Demo data is made in a DuckDB file: run the demo on one ({setting}), then copy it"
                                " with {command}").format(
            setting="MAXCHAT_DB", command="python -m maxchat_data migrate --to postgresql://…"))
    if batch is not None and batch < 1:
        raise ValidationError(_("A batch holds at least one chat."))
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
    # Each message a gap before the next one of its chat, so a chat reads in order.
    elapsed = np.cumsum(gaps)
    before_last = np.repeat(elapsed[np.cumsum(k) - 1], k) - elapsed
    sent_at = last_at[owner] - pd.to_timedelta(before_last, unit="s")
    # The last message is the customer's for Open chats, else alternate.
    direction = np.where((pos_from_end % 2 == 0) == (status[owner] == "Open"), "in",
                         np.where(pos_from_end % 2 == 0, "out", "in"))
    direction = np.where(pos_from_end == np.repeat(k, k) - 1, "in", direction)  # first one: customer
    body = message_texts(rng, k, direction)
    out_status = rng.choice(np.array(["read", "delivered", "sent", "failed"]), total, p=[0.6, 0.25, 0.13, 0.02])
    msg_status = np.where(direction == "in", "received", out_status)
    error = np.where(msg_status == "failed", _("24-hour window closed — send a template"), None)  # in the default language
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
        "archived": archived, "blocked": blocked, "label_ids": chat_labels,
        "label_bits": [label_bits(ls) for ls in chat_labels], "unread": unread,
        "last_message_at": sent_at[last_idx], "last_preview": [preview(b) for b in body[last_idx]],
        "last_direction": direction[last_idx], "last_inbound_at": inbound_at, "session_id": session_ids,
        "created_at": sent_at[first_idx]})
    chats_df.loc[assignee < 0, "assignee_id"] = pd.NA
    contacts_df = pd.DataFrame({"id": contact_ids, "name": names, "email": None, "company": None,
                                "phone": phone, "blocked": blocked, "created_at": sent_at[first_idx]})
    sessions_df = pd.DataFrame({
        "id": session_ids, "chat_id": chat_ids, "initiated_by": initiated, "started_at": sent_at[first_idx],
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
