"""HTTP routes served beside the Streamlit app (st.App routes) and the
background workers its lifespan starts."""
from __future__ import annotations

from contextlib import contextmanager

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import runtime


async def healthz(request: Request) -> JSONResponse:
    s = runtime.store()
    s.one("SELECT 1")
    return JSONResponse({"status": "ok", "version": s.version})


def routes() -> list[Route]:
    return [Route("/healthz", healthz, methods=["GET"])]


@contextmanager
def workers(store):
    """Background workers of the server; none yet beyond the store."""
    yield
