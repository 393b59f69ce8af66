"""The admin pages, the Monitor and the Reports in Bahasa Indonesia
(issue 18): each page, run in ``id``, shows its Indonesian words, and none
of the English sentences it marks for translation is left on it (titles,
captions, labels, help, options, metrics, table headers, chart titles)."""
from __future__ import annotations

import json

import pytest
from babel.messages.pofile import read_po

from conftest import customer_writes
from maxchat_data import actions, i18n, labels, quick_replies, reports, system, templates
from ui_support import agent_named, app, ui_store

SKIP_FIELDS = {"id", "key", "form_id", "fragment_id", "icon", "data", "url", "file_id", "theme", "css", "value",
               "default", "type", "language", "format", "scale", "use_container_width"}


def english_words() -> set[str]:
    """Every English sentence of the catalog that Indonesian says otherwise
    (the catalog, not the code's marks: a sentence whose mark is dropped is
    still caught)."""
    with i18n.catalog_path("id").open("rb") as f:
        cat = read_po(f, locale="id")
    found = set()
    for m in cat:
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        found.update(i for i in ids if i not in i18n.KEPT and i not in strings)
    return found


def _strings(message, out: list[str]) -> None:
    """Every string field of a protobuf element (labels, help, options, body)."""
    for field, value in message.ListFields():
        if field.name in SKIP_FIELDS:
            continue
        values = value if isinstance(value, (list, tuple)) or type(value).__name__.startswith("Repeated") else [value]
        for v in values:
            if isinstance(v, str):
                if field.name == "spec":  # a chart: its titles and field names
                    out.extend(_chart_words(json.loads(v)))
                else:
                    out.append(v)
            elif hasattr(v, "ListFields"):
                _strings(v, out)


def _chart_words(spec) -> list[str]:
    words = []
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k in ("field", "title") and isinstance(v, str):
                words.append(v)
            elif k == "sort" and isinstance(v, list):  # the weekdays of the heatmap
                words += [str(x) for x in v]
            elif k not in ("datasets", "data", "$schema", "config"):
                words += _chart_words(v)
    elif isinstance(spec, list):
        for v in spec:
            words += _chart_words(v)
    return words


def shown(at) -> list[str]:
    """What a person reads on the page, piece by piece (the sidebar, the
    language and availability pickers, is the Chat's helpers' part)."""
    out: list[str] = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            _strings(proto, out)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    for frame in at.dataframe:
        table = frame.value
        out += [str(c) for c in table.columns] + [str(n) for n in table.index.names if n]
    return out


def leaks(at) -> list[str]:
    pieces = shown(at)
    text = "\n".join(pieces)
    english = english_words()
    # A whole piece in English, or a sentence of ours inside a longer text.
    return sorted({p for p in pieces if p.strip("*: ") in english}
                  | {m for m in english if " " in m and len(m) > 12 and "{" not in m and m in text})


@pytest.fixture
def indonesian(ui_store, monkeypatch):
    monkeypatch.setenv("MAXCHAT_LANGUAGE", "id")
    monkeypatch.setenv("MAXCHAT_DEMO", "1")
    lina = system.create_account(ui_store, "lina", "Lina", "lina-pass-1", "analyst")
    people = {n: agent_named(ui_store, n) for n in ("admin", "budi", "sari", "lina")}
    chat = customer_writes(ui_store, "6281", "Tolong", name="Rina Kusuma").chat_id
    actions.reply(ui_store, chat, people["budi"]["id"], "Siap kak")
    customer_writes(ui_store, "6282", "Halo", name="Dewi")
    labels.create_label(ui_store, "VIP", "Red", people["admin"]["id"])
    templates.create_template(ui_store, people["admin"]["id"], channel="whatsapp", name="order_follow_up",
                              language="id", category="UTILITY", body="Halo {{1}}", initiate=True)
    quick_replies.create(ui_store, people["admin"]["id"], "salam", "Halo {{contact.name}}", shared=True)
    reports.set_business_hours(ui_store, {"mon": [["09:00", "17:00"]]}, people["admin"]["id"])
    assert lina
    return people


PAGES = [
    ("app_pages/monitor.py", "sari", ["Terbuka (BOT)", "Tunggu terlama", "Chat terbuka per agen", "Ketersediaan"]),
    ("app_pages/reports.py", "admin", ["Laporan", "Waktu respons", "Cara setiap angka dihitung", "Sesi", "Per hari",
                                   "Nilai tengah", "Dimulai pelanggan", "ID sesi", "Jam kerja (admin)", "Senin"]),
    ("app_pages/agents.py", "admin", ["Tambah agen", "Nama pengguna", "Kata sandi", "Penugasan otomatis", "Peran",
                                  "Simpan perubahan", "Penyelia"]),
    ("app_pages/labels.py", "admin", ["Nama label", "Pilih warna", "Label saat ini", "Merah", "Ganti nama atau warna"]),
    ("app_pages/templates.py", "admin", ["Buat template", "Kategori", "Bahasa", "Daftar template", "Utilitas", "Isi"]),
    ("app_pages/channels.py", "admin", ["URL webhook", "Pesan masuk terakhir", "Pengaturan", "Kirim tes",
                                    "Mode demo"]),
    ("app_pages/simulator.py", "admin", ["Simulator pelanggan", "Nama pelanggan", "Kirim sebagai pelanggan"]),
    ("app_pages/quick_replies.py", "admin", ["Balasan cepat saya", "Bersama", "Pintasan", "Teks", "Tambah balasan cepat"]),
]


@pytest.mark.parametrize("page,who,words", PAGES, ids=[p[0].split("/")[1] for p in PAGES])
def test_the_page_speaks_indonesian_with_no_english_left(indonesian, page, who, words):
    at = app(agent=indonesian[who])
    at.switch_page(page).run()
    assert not at.exception, at.exception
    text = "\n".join(shown(at))
    assert [w for w in words if w not in text] == []
    assert leaks(at) == []


def test_the_label_deletion_and_the_reports_durations_in_indonesian(indonesian):
    at = app(agent=indonesian["admin"])
    at.switch_page("app_pages/labels.py").run()
    label_id = labels.list_labels(at.session_state and __import__("server").runtime.store())[0]["id"]
    at.button(key=f"label_delete_{label_id}").click().run()
    assert "Hapus label VIP?" in at.warning[0].value and leaks(at) == []
    assert at.button(key="label_confirm_no").label == "Batal"
    from ui.insight import duration
    i18n.use("id")
    try:
        assert [duration(s) for s in (45, 720, 3 * 3600 + 300, 2 * 86400 + 4 * 3600)] == [
            "45 dtk", "12 mnt", "3 j 05 mnt", "2 hr 4 j"]
    finally:
        i18n.use(None)


def test_reports_downloads_have_indonesian_headers(indonesian):
    at = app(agent=indonesian["lina"])
    at.switch_page("app_pages/reports.py").run()
    assert not at.exception
    by_day = next(f.value for f in at.dataframe if "Sesi" in f.value.columns)
    assert "Sessions" not in by_day.columns and by_day.index.name == "Hari"
    cards = {m.label: m.value for m in at.metric}
    assert cards["Sesi"] == "2" and cards["Pesan agen"] == "1"
