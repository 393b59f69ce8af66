#!/usr/bin/env bash
# Run Maxchat Inbox from a fresh clone: installs what it needs into .venv,
# then serves the app (UI, webhooks, workers) in one process. This command
# is the demo: MAXCHAT_DEMO=1 fills an empty database with a living inbox
# and the README's demo logins. For real use, see "Running it for real".
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
export MAXCHAT_DEMO="${MAXCHAT_DEMO:-1}"
address="${MAXCHAT_ADDRESS:-127.0.0.1}"
port="${MAXCHAT_PORT:-8501}"
if [ "$MAXCHAT_DEMO" = 1 ]; then
  # In MAXCHAT_LANGUAGE, as the app speaks (Indonesian unless "en").
  if [ "$(echo "${MAXCHAT_LANGUAGE:-id}" | tr '[:upper:]' '[:lower:]' | xargs)" = en ]; then
    echo "Maxchat Inbox demo: open http://${address}:${port} and log in as admin / admin1234 (agents: budi / demo1234)"
  else
    echo "Demo Maxchat Inbox: buka http://${address}:${port} lalu masuk sebagai admin / admin1234 (agen: budi / demo1234)"
  fi
fi
exec .venv/bin/python -m streamlit run app.py --server.address "$address" \
  --server.port "$port" --server.headless true --browser.gatherUsageStats false "$@"
