"""The Broadcasts and SQL console pages in Bahasa Indonesia (issue 18): run
in ``id`` they show their Indonesian words and none of the English sentences
they mark (labels, options, confirmations, table headers, the CSV download);
the constant option lists every page shows are translated; the Reports
charts write their days as the reader's language does."""
from __future__ import annotations

import json

import pytest

from maxchat_data import broadcasts, i18n, labels, login, sql_console, system, team, templates
from maxchat_data.errors import MaxchatError
from server import downloads
from test_i18n_admin_pages import indonesian, leaks, shown
from test_insight_pages import download_links
from ui_support import BROWSER, app, ui_store, visible


def page_text(at) -> str:
    """What a person reads (escapes of ``chat_text.plain`` undone)."""
    return visible("\n".join(shown(at)))


def initiate(store, body="Halo {{1}}, kode {{2}}"):
    tid = system.create_template(store, channel="whatsapp", name="promo", language="id", category="MARKETING",
                                 body=body, initiate=True)
    system.review_template(store, tid, "Accepted")
    return tid


def test_the_broadcasts_page_speaks_indonesian_from_preview_to_cancel(indonesian, ui_store):
    tid = initiate(ui_store)  # to the fixture's two WhatsApp customers, Rina Kusuma and Dewi
    at = app(agent=indonesian["sari"])
    at.switch_page("app_pages/broadcasts.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="bc_tpl").options == ["promo (Indonesia)"]  # the language named, not its code
    # The audience picker keeps language-free ids; the person reads Indonesian.
    assert at.radio(key="bc_how").options == ["Kontak dengan label", "Semua kontak WhatsApp", "Nomor dari file CSV"]
    assert leaks(at) == []

    at.radio(key="bc_how").set_value("csv").run()
    mapping = at.dataframe[0].value
    assert list(mapping.columns) == ["Kolom", "Menjadi"] and "nomor WhatsApp tujuan pesan" in set(mapping["Menjadi"])
    assert "Baris pertama berisi nama kolom: phone,name,var1,var2" in page_text(at)
    assert leaks(at) == []

    at.radio(key="bc_how").set_value("label").run()
    assert at.multiselect(key="bc_labels").placeholder == "Pilih label"
    at.radio(key="bc_how").set_value("channel").run()
    at.text_input(key=f"bc_val_{tid}_2").input("LEBARAN").run()
    text = page_text(at)
    assert [w for w in ("Broadcast baru", "Kirim ke", "Pesan per detik", "**2 penerima**",
                        "Kepada +6281 · Rina Kusuma") if w not in text] == []
    assert list(at.dataframe[0].value.columns)[:3] == ["Baris", "Kepada", "Nama"]
    assert at.button(key="bc_send").label == "Kirim ke 2 penerima"
    assert leaks(at) == []

    at.button(key="bc_send").click().run()
    (bid,) = ui_store.one("SELECT id FROM broadcasts")
    text = page_text(at)
    assert [w for w in (f"Broadcast #{bid} masuk antrean", "Broadcast terkirim", "Semua kontak WhatsApp · oleh Sari",
                        "0 dari 2 diproses", "Dalam antrean", "Diblokir, dilewati", "Penerima") if w not in text] == []
    assert [m.label for m in at.metric] == ["Dalam antrean", "Terkirim", "Diterima", "Dibaca", "Gagal",
                                            "Diblokir, dilewati"]
    assert at.button(key=f"bc_pause_{bid}").label == "Jeda"
    table = at.dataframe[-1].value
    assert list(table.columns) == ["Baris", "Nomor", "Nama", "Status", "Alasan"]
    assert set(table["Status"]) == {"⏳ Dalam antrean"}
    assert leaks(at) == []

    # The CSV download: the same headers and words, in the language the page was shown in.
    (csv_name, token), _parquet = download_links(at)
    assert csv_name == f"broadcast_{bid}.csv"
    lines = downloads._serve(token, BROWSER.cookies[login.COOKIE_NAME]).body.decode().splitlines()
    assert lines[0] == "Baris,Nomor,Nama,Status,Alasan" and lines[1].endswith("⏳ Dalam antrean,")

    at.button(key=f"bc_cancel_{bid}").click().run()
    text = page_text(at)
    assert f"Batalkan broadcast #{bid}? 2 penerima yang belum dikirimi tidak akan menerimanya." in text
    assert at.button(key=f"bc_cancel_no_{bid}").label == "Jangan batalkan"
    assert leaks(at) == []
    at.button(key=f"bc_cancel_yes_{bid}").click().run()
    assert not at.exception
    text = page_text(at)
    assert "Broadcast dibatalkan: sisanya tidak dikirim." in text and "Dibatalkan" in text
    assert leaks(at) == []


def test_the_sql_console_speaks_indonesian_with_its_results_and_refusals(indonesian):
    at = app(agent=indonesian["lina"])
    at.switch_page("app_pages/sql.py").run()
    assert not at.exception, at.exception
    text = page_text(at)
    assert [w for w in ("Konsol SQL", "Hanya baca: satu SELECT", "maksimal 5.000 baris", "10.000 karakter per nilai",
                        "View dan kolomnya", "satu kontak di satu channel", "Kueri", "Jalankan") if w not in text] == []
    assert leaks(at) == []
    at.text_area(key="sql_text").input("SELECT status, count(*) AS n, max(created_at) AS latest FROM chats GROUP BY 1")
    at.button(key="sql_run").click().run()
    assert not at.exception
    text = page_text(at)
    assert "2 baris dalam " in text and "latest_local: zona waktu tim, Asia/Jakarta" in text
    assert leaks(at) == []
    at.text_area(key="sql_text").input("DELETE FROM chats").run()
    at.button(key="sql_run").click().run()
    assert [visible(e.value) for e in at.error] == [
        "Hanya kueri SELECT yang diizinkan di sini (ini DELETE). Konsol hanya baca."]
    assert leaks(at) == []


@pytest.mark.parametrize("sql,says", [
    ("", "Tulis kueri dulu."),
    ("SELECT * FROM read_csv('/etc/passwd')", "Fungsi tabel read_csv() tidak diizinkan"),
    ("SELECT repeat('x', 99999)", "menghasilkan maksimal 10.000 karakter dari teks yang ditulis langsung"),
    ("SELECT * FROM public_agents", "'public_agents' bukan view konsol: gunakan chats, sessions"),
])
def test_console_refusals_are_in_the_persons_language(store, sql, says):
    i18n.use("id")
    try:
        with pytest.raises(MaxchatError) as refused:
            sql_console.run_query(store, "analyst", sql)
        assert says in str(refused.value)
    finally:
        i18n.use(None)


def test_a_cut_result_says_so_in_indonesian(store):
    i18n.use("id")
    try:
        result = sql_console.run_query(store, "analyst", "SELECT * FROM range(20)", row_limit=10)
    finally:
        i18n.use(None)
    assert result.cut == "dipotong di batas 10 baris"


def constant_lists() -> dict:
    """Every constant option list a page shows, as the words it shows."""
    from ui import new_chat, team as ui_team
    return {
        "team.METHODS": list(team.METHODS.values()),
        "team.AVAILABILITY": list(team.AVAILABILITY),
        "ui.team.WORDS": list(ui_team.WORDS.values()),
        "templates.STATUSES": list(templates.STATUSES),
        "templates.LANGUAGES": list(templates.LANGUAGES.values()),
        "broadcasts.STATES": list(broadcasts.STATES.values()),
        "broadcasts.AUDIENCES": list(getattr(broadcasts, "AUDIENCES", {}).values()),
        "broadcasts.RECIPIENT_STATUSES": list(getattr(broadcasts, "RECIPIENT_STATUSES", {}).values()),
        "labels.PALETTE": list(labels.PALETTE),
        "new_chat.WRITE_TO": list(new_chat.WRITE_TO.values()),
    }


@pytest.mark.parametrize("name", ["team.METHODS", "team.AVAILABILITY", "ui.team.WORDS", "templates.STATUSES",
                                  "templates.LANGUAGES", "broadcasts.STATES", "broadcasts.AUDIENCES",
                                  "broadcasts.RECIPIENT_STATUSES", "labels.PALETTE", "new_chat.WRITE_TO"])
def test_each_constant_lists_shown_labels_are_translated(name):
    words = constant_lists()[name]
    assert words
    i18n.use("id")
    try:
        said = [i18n._(w) for w in words]
    finally:
        i18n.use(None)
    # Indonesian says each otherwise, unless it is one of the guide's own English words.
    assert [w for w, s in zip(words, said) if s == w and w not in i18n.KEPT] == []
    assert len(set(said)) == len(said)  # two options never read the same


def chart_specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def test_reports_charts_write_their_days_in_the_readers_language(indonesian):
    at = app(agent=indonesian["admin"])
    at.switch_page("app_pages/reports.py").run()
    assert not at.exception
    i18n.use("id")
    try:
        from datetime import datetime
        from maxchat_data import config
        today = datetime.now(config.team_timezone()).date()
        want = i18n.day(today, "d MMM")
    finally:
        i18n.use(None)
    by_day = [s for s in chart_specs(at) if s["encoding"]["x"].get("title") == "Hari"]
    assert len(by_day) == 2  # sessions per day, response times per day
    for spec in by_day:
        x = spec["encoding"]["x"]
        # Days written by us (Vega would say "Dec" and "Mon"), in order.
        assert "timeUnit" not in x and x["sort"][-1] == want and len(x["sort"]) == 7
        assert all(t.get("type") != "temporal" for t in spec["encoding"]["tooltip"])
    # Vega writes the axes' numbers (and any date it formats) the Indonesian way.
    for spec in chart_specs(at):
        locale = spec["config"]["locale"]
        assert (locale["number"]["decimal"], locale["number"]["thousands"]) == (",", ".")
        assert locale["time"]["shortMonths"][11] == "Des" and locale["time"]["days"][1] == "Senin"
    # Nothing chosen counts everything; Streamlit's own placeholder is English.
    assert [m.placeholder for m in at.multiselect] == ["Semua channel", "Semua label", "Semua agen"]
    assert leaks(at) == []


def test_the_template_list_names_each_language_in_the_readers_words(indonesian):
    at = app(agent=indonesian["admin"])
    at.switch_page("app_pages/templates.py").run()
    assert not at.exception
    table = next(f.value for f in at.dataframe if "Bahasa" in f.value.columns)
    assert list(table["Bahasa"]) == ["Indonesia"]  # not the code "id"


@pytest.mark.parametrize("page,says", [("app_pages/broadcasts.py", "Halaman ini hanya untuk penyelia dan admin."),
                                       ("app_pages/sql.py", "Halaman ini hanya untuk analis dan admin.")])
def test_a_refused_role_is_told_in_indonesian(indonesian, page, says):
    at = app(page, agent=indonesian["budi"])
    assert [e.value for e in at.error] == [says]
