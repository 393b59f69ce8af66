"""Issue 18, "Language": each person's language, stored per agent and
picked in the sidebar; the login page and the Chat page speak it.

The domain rule on both backends, then the whole app in AppTest
(dashboard.py: the login gate, the sidebar, the Chat page) for an agent
whose language is Indonesian while the test process's default is English."""
from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from conftest import customer_writes
from maxchat_data import accounts, actions, i18n, system
from maxchat_data.errors import NotAllowed, ValidationError
from streamlit.testing.v1 import AppTest

from maxchat_data import login
from ui_support import ROOT, agent_named, app, set_cookie, texts, ui_store, visible  # a fixture

pytestmark = pytest.mark.both_backends


def test_a_person_sets_their_own_language_and_a_new_agent_has_none(store):
    budi = system.create_account(store, "budi", "Budi Santoso", "budi-pass-1")
    lina = system.create_account(store, "lina", "Lina", "lina-pass-1", "analyst")
    assert accounts.get_agent(store, budi)["language"] is None  # MAXCHAT_LANGUAGE speaks for them
    accounts.set_language(store, budi, "en")
    accounts.set_language(store, lina, "id")  # an analyst too: their own setting
    assert accounts.get_agent(store, budi)["language"] == "en"
    assert accounts.get_agent(store, lina)["language"] == "id"
    assert accounts.verify_password(store, "lina", "lina-pass-1")["language"] == "id"  # the login carries it


def test_an_unknown_language_is_refused_and_changes_nothing(store):
    budi = system.create_account(store, "budi", "Budi Santoso", "budi-pass-1")
    accounts.set_language(store, budi, "id")
    with pytest.raises(ValidationError, match='Unknown language "fr": choose one of id, en.'):
        accounts.set_language(store, budi, "fr")
    assert accounts.get_agent(store, budi)["language"] == "id"


def test_a_deactivated_account_cannot_change_its_language(store):
    admin = accounts.bootstrap_admin(store, "admin", "admin-pass-1")
    budi = system.create_account(store, "budi", "Budi Santoso", "budi-pass-1")
    accounts.update_agent(store, budi, admin, display_name="Budi Santoso", role="agent", active=False)
    with pytest.raises(NotAllowed):
        accounts.set_language(store, budi, "en")
    assert accounts.get_agent(store, budi)["language"] is None


# ---- the pages ----------------------------------------------------------------------------------
def _english_ids() -> list[str]:
    """English sentences the catalog translates differently (no placeholder):
    none may show on a page that speaks Indonesian."""
    with i18n.catalog_path("id").open("rb") as f:
        catalog = read_po(f, locale="id")
    # A language's own name ("English" in the picker) is the same in every language.
    own_names = set(i18n.LANGUAGES.values())
    return [m.id for m in catalog if isinstance(m.id, str) and m.id and m.string != m.id and "{" not in m.id
            and m.id not in own_names]


def shown(at) -> str:
    """Texts plus every widget's label, placeholder and option the run drew."""
    parts = [texts(at)]
    for w in (*at.button, *at.text_input, *at.text_area, *at.selectbox, *at.toggle, *at.segmented_control):
        parts += [str(getattr(w, "label", "") or ""), str(getattr(w, "placeholder", "") or "")]
        parts += [str(o) for o in getattr(w, "options", []) or []]
    return visible("\n".join(parts))


def leaks(text: str) -> list[str]:
    """English catalog sentences in ``text``: a whole line for short words
    (a word like "sent" may be part of data), anywhere for longer ones."""
    lines = set(text.splitlines())
    return [m for m in _english_ids() if m in lines or (len(m.split()) >= 3 and m in text)]


@pytest.fixture
def chat_of_budi(ui_store):
    budi = agent_named(ui_store, "budi")
    chat = customer_writes(ui_store, "6281", "Halo, pesanan saya sudah dikirim?", name="Rina Kusuma").chat_id
    actions.assign(ui_store, chat, budi["id"], agent_named(ui_store, "admin")["id"])
    return ui_store, budi, chat


def test_the_chat_page_speaks_the_agents_language_and_the_sidebar_switches_it(chat_of_budi):
    store, budi, chat = chat_of_budi
    accounts.set_language(store, budi["id"], "id")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    set_cookie(login.start_session(store, budi["id"]))  # logged in: the cookie is what counts
    at.query_params["chat"] = str(chat)  # the chat open, as a shared link does
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    page = shown(at)
    assert "Halo, pesanan saya sudah dikirim?" in page  # customer text is data: as written
    for word in ("Chat baru", "Cari nama", "Notifikasi", "Tugaskan", "Detail Kontak",
                 "Tambah catatan", "Keluar", "Bahasa", "Ketersediaan", "untuk membalas"):
        assert word in page, word
    assert not leaks(page), leaks(page)
    # The team's clock, as Indonesian writes it (19.51).
    assert re.search(r"\b\d{2}\.\d{2}\b", "\n".join(c.value for c in at.caption))
    assert at.selectbox(key="ui_language").value == "id"
    # What a callback says (it runs before the page sets the language) is Indonesian too.
    at.session_state["chat_labels_pop_hdr"] = True  # the label pop-up open, as a click on [+] does
    at.run()
    at.button(key="chat_newlabel_add_hdr").click().run()  # no colour picked
    assert "Pilih warna di Pilih warna." in [visible(e.value) for e in at.error], [e.value for e in at.error]

    # The sidebar: English at once, without logging out, and stored.
    at.selectbox(key="ui_language").set_value("en").run()
    assert not at.exception, [e.value for e in at.exception]
    page = shown(at)
    for word in ("New chat", "Search by Name", "Notifications", "Assign", "Contact Detail", "Add notes",
                 "Logout", "Language", "left to reply"):
        assert word in page, word
    assert "Chat baru" not in page and "Tugaskan" not in page
    assert re.search(r"\b\d{2}:\d{2}\b", "\n".join(c.value for c in at.caption))
    assert accounts.get_agent(store, budi["id"])["language"] == "en"

    # The next login (a new browser session) remembers it.
    again = app("dashboard.py", budi)
    assert not again.exception
    assert "New chat" in shown(again) and "Chat baru" not in shown(again)


def test_the_login_page_speaks_the_default_language(ui_store, monkeypatch):
    accounts.set_language(ui_store, agent_named(ui_store, "budi")["id"], "en")  # nobody is logged in yet
    monkeypatch.setenv("MAXCHAT_LANGUAGE", "id")
    set_cookie(None)
    at = app("dashboard.py")
    assert not at.exception
    assert at.text_input(key="login_username").label == "Nama pengguna"
    assert at.text_input(key="login_password").label == "Kata sandi"
    assert "Kotak masuk bersama" in texts(at)
    at.text_input(key="login_username").input("budi")
    at.text_input(key="login_password").input("wrong-pass-1")
    assert at.button(key="login_submit").label == "Masuk"
    at.button(key="login_submit").click().run()
    assert [e.value for e in at.error] == ["Nama pengguna atau kata sandi salah."]

