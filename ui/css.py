"""The app's own style sheets (ui/assets/*.css) and the colour-swatch
pills: static CSS, no data in it, drawn with st.html as a <style> element."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import streamlit as st

from maxchat_data.i18n import _
from maxchat_data.labels import PALETTE

ASSETS = Path(__file__).parent / "assets"


@cache
def _sheet(name: str) -> str:
    return f"<style>{(ASSETS / f'{name}.css').read_text()}</style>"


def use(name: str) -> None:
    """Add ui/assets/<name>.css to the page."""
    st.html(_sheet(name))


# Each pill of a colour choice starts with a square of its colour (the pills
# follow PALETTE's order): the colour is chosen by its look, not its name.
SWATCH_KEY = "swatches"
SWATCH_CSS = "<style>" + "".join(
    f'[class*="st-key-{SWATCH_KEY}"] [role=radiogroup] > button:nth-of-type({i})::before'
    f"{{background:{hex_}}}" for i, hex_ in enumerate(PALETTE.values(), 1)) + (
    f'[class*="st-key-{SWATCH_KEY}"] [role=radiogroup] > button::before'
    '{content:"";display:inline-block;width:1rem;height:1rem;border-radius:.25rem;margin-right:.35rem;'
    "flex:none;box-shadow:inset 0 0 0 1px rgba(0,0,0,.15)}"
    f'[class*="st-key-{SWATCH_KEY}"] [role=radiogroup] > button {{padding-left:.45rem}}'
    f'[class*="st-key-{SWATCH_KEY}"] [role=radiogroup] > button[aria-checked=true]'
    "{box-shadow:0 0 0 2px currentColor}</style>")


def colour_pills(label: str, key: str, default: str | None = None, **kwargs) -> str | None:
    """A palette colour chosen from swatches (its name beside each square)."""
    st.html(SWATCH_CSS)
    with st.container(key=f"{SWATCH_KEY}_{key}", gap=None):
        return st.pills(label, list(PALETTE), default=default, key=key, format_func=colour_name, **kwargs)


def colour_name(colour: str) -> str:
    """A palette name (what a label stores) as a person reads it."""
    return _(colour) if colour in PALETTE else colour
