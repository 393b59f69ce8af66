"""Launcher: ``streamlit run app.py``. One process serves the UI, the webhook
routes, the login routes and the workers, and owns the DuckDB file."""
from __future__ import annotations

import sys

import streamlit as st
from starlette.middleware import Middleware

from server import downloads, login_routes, webhooks
from server.lifespan import lifespan
from server.private_paths import RefusePrivatePaths
from server.session_binding import BindSessionsToLogin

# The event loop and the DuckDB writer thread share the GIL; at the default
# 5 ms switch interval a request coming back from a socket call waits behind
# the writer's Python work. 0.2 ms: single-message webhooks 1,150 -> 1,770/s,
# p99 88 -> 66 ms (bench/bench_webhooks.py); 0.1 ms gained nothing more.
sys.setswitchinterval(0.0002)


app = st.App("dashboard.py", routes=[*webhooks.routes(), *login_routes.routes(), *downloads.routes()], lifespan=lifespan,
             middleware=[Middleware(webhooks.WebhooksFirst), Middleware(RefusePrivatePaths),
                         Middleware(BindSessionsToLogin)])
