"""Launcher: ``streamlit run app.py``. One process serves the UI, the webhook
routes and the workers, and owns the DuckDB file."""
from __future__ import annotations

from contextlib import asynccontextmanager

import streamlit as st

from maxchat_data import gateway, runtime


@asynccontextmanager
async def lifespan(app):
    store = runtime.store()
    with gateway.workers(store):
        yield {}
    runtime.close()


app = st.App("dashboard.py", routes=gateway.routes(), lifespan=lifespan)
