"""Launcher: ``streamlit run app.py``. One process serves the UI, the webhook
routes, the login routes and the workers, and owns the DuckDB file."""
from __future__ import annotations

import sys

import streamlit as st
from starlette.middleware import Middleware
from streamlit.runtime.pages_manager import PagesManager

from server import downloads, login_routes, webhooks
from server.lifespan import lifespan
from server.private_paths import RefusePrivatePaths

# dashboard.py navigates with st.navigation. Streamlit only learns that when
# st.navigation first runs; until then a app_pages/ folder beside the main script
# means "old-style multipage app", and the first run of the process would
# serve a app_pages/*.py file named in the URL directly, around the login gate.
PagesManager.uses_pages_directory = False

# The event loop and the DuckDB writer thread share the GIL; at the default
# 5 ms switch interval a request coming back from a socket call waits behind
# the writer's Python work. 0.2 ms: single-message webhooks 1,150 -> 1,770/s,
# p99 88 -> 66 ms (bench/bench_webhooks.py); 0.1 ms gained nothing more.
sys.setswitchinterval(0.0002)


app = st.App("dashboard.py", routes=[*webhooks.routes(), *login_routes.routes(), *downloads.routes()], lifespan=lifespan,
             middleware=[Middleware(RefusePrivatePaths)])
