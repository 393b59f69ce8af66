"""Where the browser tests put their screenshots. The pictures of the README
and the user guides (docs/) are made by the browser tests, but only when
asked (``MAXCHAT_SCREENSHOTS=1 ./test.sh -m browser``): an ordinary test run
takes them all the same (the code that takes them is tested) into a
temporary folder, and leaves the working tree as it was."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# A folder of this run's own (a fixed name in /tmp could belong to another
# user), gone when the run ends.
ASKED = bool(os.environ.get("MAXCHAT_SCREENSHOTS"))
DOCS = Path(__file__).resolve().parents[1] / "docs" if ASKED else Path(tempfile.mkdtemp(prefix="maxchat-screenshots-"))
if not ASKED:
    atexit.register(shutil.rmtree, DOCS, True)
(DOCS / "id").mkdir(parents=True, exist_ok=True)
