"""A text progress bar for the long commands (demo, export, migrate) on
standard error. On a terminal it redraws one line; elsewhere (a log, CI, a
pipe) it prints a new line each time the share done moves by a step, so a
log shows progress without thousands of lines."""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

# What a long operation calls as it goes: (done, total), in its own unit.
Report = Callable[[int, int], None]

WIDTH = 30


class Bar:
    def __init__(self, label: str, unit: str, stream: TextIO | None = None, step: float = 0.1):
        self.label, self.unit = label, unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.step = step  # without a terminal: a line per this share done
        self.started = time.perf_counter()
        self._shown = -1.0
        self._steps = -1

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        steps = int(share / self.step + 1e-9)
        if share <= self._shown or (not self.tty and steps <= self._steps):
            return
        self._shown, self._steps = share, steps
        filled = int(WIDTH * share)
        line = (f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done:,}/{total:,} {self.unit}"
                f" {share:4.0%} {time.perf_counter() - self.started:.0f} s")
        self.stream.write(f"\r{line}" if self.tty else f"{line}\n")
        if self.tty and share >= 1.0:
            self.stream.write("\n")
        self.stream.flush()
