"""Launcher: ``streamlit run app.py``. One process serves the UI, the webhook
routes, the login routes and the workers, and owns the DuckDB file."""
from __future__ import annotations

from contextlib import asynccontextmanager

import streamlit as st

from maxchat_data import gateway, login, runtime


@asynccontextmanager
async def lifespan(app):
    store = runtime.store()
    with gateway.workers(store):
        yield {}
    runtime.close()


app = st.App("dashboard.py", routes=[*gateway.routes(), *login.routes()], lifespan=lifespan)
