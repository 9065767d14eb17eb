"""Pure core of energy measurement: counter bookkeeping, power integration, window energy.

Nothing here touches a device, a thread or a clock; the backends feed it numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

Reason = Literal[
    "library_not_found",
    "no_devices",
    "not_supported",
    "permission",
    "device_lost",
    "counter_reset",
]
Method = Literal["counter", "power_integration"]


class DeviceError(Exception):
    """A device could not be read; `reason` says why in the journal's vocabulary."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Reason = reason


class EnergyDevice(Protocol):
    """One measurable device, as a backend exposes it."""

    name: str
    method: Method | None  # None: the device is known but cannot be measured (see read errors)
    has_power: bool  # read_power_w works; otherwise power is derived from counter differences
    # Seconds between updates of the value behind `read_energy_j` (counter) or the averaging window
    # of `read_power_w` (power integration): windows shorter than this cannot be resolved.
    update_interval_s: float
    # Counter value at which the raw counter wraps to 0, in joules; None for counters that only reset.
    wrap_range_j: float | None
    # Upper bound of the device's power, used to know how long a wrapping counter may go unobserved.
    max_power_w: float | None

    def read_energy_j(self) -> float: ...  # raw counter in joules; raises DeviceError

    def read_power_w(self) -> float: ...  # instantaneous or short-average power; raises DeviceError


@dataclass
class UnavailableDevice:
    """A device that was found but cannot be measured at all; every read reports why."""

    name: str
    reason: Reason
    method: Method | None = None
    has_power: bool = False
    update_interval_s: float = 0.0
    wrap_range_j: float | None = None
    max_power_w: float | None = None

    def read_energy_j(self) -> float:
        raise DeviceError(self.reason)

    def read_power_w(self) -> float:
        raise DeviceError(self.reason)


@dataclass
class Discovery:
    """What one backend found: its devices, or (when there are none) why not."""

    backend: str
    devices: list[EnergyDevice]
    reason: Reason | None
    close: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Sample:
    """A device's cumulative energy at one instant (monotonic seconds).

    `epoch` changes whenever continuity is lost (counter reset, or a wrapping counter left unobserved
    long enough to wrap more than once): energy across two epochs is unknown.
    """

    t: float
    joules: float | None
    epoch: int
    reason: Reason | None = None


class CounterTracker:
    """Turns a raw energy counter that may wrap or reset into a monotonic cumulative energy."""

    def __init__(self, wrap_range_j: float | None, max_power_w: float | None) -> None:
        self._wrap_range_j = wrap_range_j
        # Longest gap between observations for which at most one wrap can have happened.
        self._safe_gap_s = wrap_range_j / max_power_w if wrap_range_j is not None and max_power_w else None
        self._last_raw: float | None = None
        self._last_t = 0.0
        self._total_j = 0.0
        self._epoch = 0

    @property
    def safe_gap_s(self) -> float | None:
        return self._safe_gap_s

    def observe(self, raw_j: float, t: float) -> Sample:
        if self._last_raw is None:
            self._last_raw, self._last_t = raw_j, t
            return Sample(t, self._total_j, self._epoch)
        delta = raw_j - self._last_raw
        if self._safe_gap_s is not None and t - self._last_t > self._safe_gap_s:
            self._epoch += 1  # the counter may have wrapped several times unseen
            delta = 0.0
        elif delta < 0:
            if self._wrap_range_j is not None:
                delta += self._wrap_range_j
            else:
                self._epoch += 1  # a counter that never wraps went back: driver reload, reset
                delta = 0.0
        self._total_j += delta
        self._last_raw, self._last_t = raw_j, t
        return Sample(t, self._total_j, self._epoch)


class PowerIntegrator:
    """Cumulative energy from power samples by the trapezoid rule."""

    def __init__(self) -> None:
        self._last: tuple[float, float] | None = None
        self._total_j = 0.0

    def add(self, t: float, watts: float) -> Sample:
        if self._last is None:
            self._last = (t, watts)
        elif t > self._last[0]:
            last_t, last_w = self._last
            self._total_j += (t - last_t) * (watts + last_w) / 2.0
            self._last = (t, watts)
        # A sample at or before the last one (two threads racing) adds nothing.
        return Sample(self._last[0], self._total_j, 0)


def energy_between(
    device: str,
    method: Method | None,
    update_interval_s: float,
    start: Sample,
    end: Sample,
) -> dict:
    """The journal's energy entry for one device over the window [start, end]."""

    def entry(joules: float | None, reason: Reason | None, limited: bool) -> dict:
        return {
            "device": device,
            "joules": joules,
            "method": method,
            "reason": reason,
            "resolution_limited": limited,
        }

    failure = end.reason or start.reason
    if failure is not None or start.joules is None or end.joules is None:
        return entry(None, failure or "not_supported", False)
    if end.epoch != start.epoch or end.joules < start.joules:
        return entry(None, "counter_reset", False)
    limited = end.t - start.t < update_interval_s
    moved = end.joules > start.joules
    if limited and not moved:
        # The counter simply did not tick within the window: unknown, not zero.
        return entry(None, None, True)
    return entry(end.joules - start.joules, None, limited)
