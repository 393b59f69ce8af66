"""Shared by the benchmarks: the 100k-chat / 2M-message data set, built once
and cached, and small timing helpers. Benchmarks print figures; they do not
assert timings."""
from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


CACHE = Path(os.environ.get("MAXCHAT_BENCH_DIR", "/tmp/maxchat-bench"))


def big_database(chats: int = 100_000, per_chat: float = 20.0) -> Path:
    """A pristine copy of the big data set (generated on first use, by the
    demo command as a user runs it: its time and peak memory are printed)."""
    name = f"{chats}" if per_chat == 20.0 else f"{chats}x{per_chat:g}"
    pristine = CACHE / f"pristine-{name}.duckdb"
    if not pristine.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        part = CACHE / f"part-{name}.duckdb"
        for suffix in ("", ".wal"):
            Path(str(part) + suffix).unlink(missing_ok=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "maxchat_data", "--db", str(part), "demo", "--chats", str(chats),
                        "--messages-per-chat", str(per_chat), "--days", "90"], cwd=ROOT, check=True,
                       env={**os.environ, "MAXCHAT_DEMO": "0", "MAXCHAT_ADMIN_PASSWORD": "admin-pass-1"})
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"demo --chats {chats:,}: {time.perf_counter() - started:.0f} s, peak RSS {peak:,.0f} MB"
              f" (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)
        part.rename(pristine)
    work = CACHE / f"work-{name}.duckdb"
    for suffix in ("", ".wal"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    shutil.copy(pristine, work)
    return work


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used, all its threads (utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(name: str, ms: list[float], target: float | None = None) -> str:
    p50 = statistics.median(ms)
    line = f"{name:<44} p50 {p50:8.3f} ms  p95 {pct(ms, 95):8.3f} ms"
    if target:
        line += f"  target {target:g} ms  ratio {p50 / target:.2f}"
    return line


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed_page_run(at, *, cold: bool) -> float:
    """One full run of an AppTest'd Chat page, in ms; ``cold`` drops the
    page's caches first, so every read happens."""
    if cold:
        for key in ("chat_list_cache", "chat_thread_cache"):
            if key in at.session_state:
                del at.session_state[key]
    started = time.perf_counter()
    at.run()
    elapsed = (time.perf_counter() - started) * 1000
    assert not at.exception, at.exception
    return elapsed
