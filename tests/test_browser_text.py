"""Customer text shown through Streamlit's markdown renders as itself: the
one escaper (``ui.chat_text.plain``) checked in a real browser, in every
place the app puts customer text (markdown, a :gray[...] list line, a
caption, a message box, a badge, a button label). AppTest only sees the
markdown source; what becomes a link, a heading or an icon is decided by
the browser's renderer."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from live_server import ROOT, live_server

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
sync_api = pytest.importorskip("playwright.sync_api")

SAMPLES = [
    "**b** _i_ __u__ ~~s~~ `code`", "# h", "> q", "1. x", "- y", "|a|b|\n|-|-|\n|1|2|",
    "<img src=x onerror=alert(1)>", "<b>bold</b>", "&amp; &lt;b&gt;",
    "[x](javascript:alert(1))", "![i](https://evil.example/i.png)", "https://evil.example/path?a=1",
    "see www.x.com now", "mail foo@bar.com", "HTTP://CAPS.EXAMPLE", ":material/home:", ":red[x]", ":smile:",
    "$x$", "$$x$$", "a \\*b\\* c\\", "x_y_z 3*4*5", "Rina :blue-badge[VIP] <3",
]
PLACES = {
    "markdown": "st.markdown(plain(s))",
    "list": 'st.markdown(f":gray[12:00 · {plain(s)}]  \\n:blue-badge[Open]")',
    "caption": "st.caption(plain(s))",
    "error": "st.error(plain(s))",
    "badge": 'st.markdown(f":violet-badge[{plain(s)}]")',
    "button": "st.button(plain(s), key=f'b_{i}')",
}
# What a rendered customer string must never contain.
MARKUP = ["<a", "<img", "<h1", "<h2", "<strong", "<em", "<blockquote", "<ol", "<ul", "<li", "<table", "<code",
          "<del", "<b>", "katex", "stIconMaterial"]


def test_every_markdown_place_shows_customer_text_as_itself(tmp_path):
    script = tmp_path / "samples.py"
    lines = ["import streamlit as st", "from ui.chat_text import plain", f"SAMPLES = {json.dumps(SAMPLES)}",
             "for i, s in enumerate(SAMPLES):"]
    for place, call in PLACES.items():
        lines += [f"    with st.container(key=f'{place}_{{i}}'):", f"        {call}"]
    script.write_text("\n".join(lines) + "\n")
    with live_server(tmp_path, env={"PYTHONPATH": str(ROOT)}, script=str(script)) as base, \
            sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        page.goto(base)
        page.wait_for_selector(f".st-key-button_{len(SAMPLES) - 1} button", timeout=30000)
        wrong = []
        for i, sample in enumerate(SAMPLES):
            want = " ".join(sample.split())
            for place in PLACES:
                box = page.locator(f".st-key-{place}_{i}")
                found = [m for m in MARKUP if m in box.inner_html()]
                shown = box.inner_text().replace("\u2060", "")
                if found or want not in " ".join(shown.split()):
                    wrong.append((place, sample, found, shown))
        browser.close()
    assert not wrong, "\n".join(map(repr, wrong))
