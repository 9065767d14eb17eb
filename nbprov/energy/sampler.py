"""A daemon thread that calls a function at a steady rate."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Sampler:
    def __init__(self, tick: Callable[[], None], period_s: float) -> None:
        self._tick = tick
        self.period_s = period_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nbprov-energy-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        due = time.monotonic()
        while not self._stopped.is_set():
            self._tick()
            due += self.period_s
            delay = due - time.monotonic()
            if delay < 0:  # fell behind (a slow read, a suspended process): skip, do not burst
                due, delay = time.monotonic(), 0.0
            self._stopped.wait(delay)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
