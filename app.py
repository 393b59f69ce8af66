"""Launcher: ``streamlit run app.py``. One process serves the UI, the webhook
routes, the login routes and the workers, and owns the DuckDB file."""
from __future__ import annotations

from contextlib import asynccontextmanager

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from maxchat_data import gateway, login, runtime

# dashboard.py navigates with st.navigation. Streamlit only learns that when
# st.navigation first runs; until then a pages/ folder beside the main script
# means "old-style multipage app", and the first run of the process would
# serve a pages/*.py file named in the URL directly, around the login gate.
PagesManager.uses_pages_directory = False


@asynccontextmanager
async def lifespan(app):
    store = runtime.store()
    with gateway.workers(store):
        yield {}
    runtime.close()


app = st.App("dashboard.py", routes=[*gateway.routes(), *login.routes()], lifespan=lifespan)
