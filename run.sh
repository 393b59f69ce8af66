#!/usr/bin/env bash
# Run Maxchat Inbox from a fresh clone: installs what it needs into .venv,
# then serves the app (UI, webhooks, workers) in one process.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
export MAXCHAT_DEMO="${MAXCHAT_DEMO:-1}"
exec .venv/bin/python -m streamlit run app.py \
  --server.port "${MAXCHAT_PORT:-8501}" --server.headless true --browser.gatherUsageStats false "$@"
