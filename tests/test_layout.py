"""The house rules of the tree: ``maxchat_data`` (the data and its rules)
imports no web framework, and nothing in it imports ``server``."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_data_package_imports_no_web_framework_and_no_server_code():
    # A fresh interpreter: every module of maxchat_data imported, then the
    # loaded modules listed. Importing streamlit or starlette (or server)
    # from any of them would show here.
    code = (
        "import importlib, pkgutil, sys\n"
        "import maxchat_data\n"
        "for m in pkgutil.walk_packages(maxchat_data.__path__, 'maxchat_data.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted({n.split('.')[0] for n in sys.modules}))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    loaded = set(eval(out))  # a list of module names printed by the child
    assert "maxchat_data" in loaded
    assert not loaded & {"streamlit", "starlette", "uvicorn", "tornado", "server"}, loaded & {"streamlit", "starlette", "uvicorn", "tornado", "server"}


def test_every_package_says_what_lives_there_and_who_may_import_it():
    for package in ("maxchat_data", "maxchat_data/channels", "maxchat_data/login", "server", "ui"):
        init = ROOT / package / "__init__.py"
        assert init.is_file(), package
        doc = init.read_text().split('"""')[1]
        assert "import" in doc, f"{package}/__init__.py: say who may import it"
