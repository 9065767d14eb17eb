"""EnergyMeter: every usable device of every backend behind one small interface."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .amd import open_amd
from .core import (
    CounterTracker,
    DeviceError,
    Discovery,
    EnergyDevice,
    PowerIntegrator,
    Reason,
    Sample,
    energy_between,
)
from .nvml import open_nvml
from .rapl import POWERCAP_ROOT, open_rapl
from .sampler import Sampler

log = logging.getLogger("nbprov.energy")

PowerCallback = Callable[[str, int, float], None]
DEFAULT_HZ = 10.0
# When no backend works, the reason reported is the one of the backend that got furthest.
_REASON_PRIORITY: tuple[Reason, ...] = (
    "device_lost",
    "permission",
    "not_supported",
    "no_devices",
    "library_not_found",
)


@dataclass(frozen=True)
class Reading:
    """Every device's cumulative energy at one instant (`t`: monotonic seconds)."""

    t: float
    samples: Mapping[str, Sample]


class EnergyMeter:
    def __init__(
        self,
        discoveries: list[Discovery],
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._devices: list[EnergyDevice] = [d for found in discoveries for d in found.devices]
        # Backends that contributed nothing, and why (for diagnostics and the bench).
        self.unavailable: dict[str, Reason] = {
            found.backend: found.reason for found in discoveries if found.reason is not None
        }
        self._closers = [found.close for found in discoveries]
        self._clock = clock
        self._wall_ms = wall_ms
        self._lock = threading.Lock()
        self._accumulators: dict[str, CounterTracker | PowerIntegrator] = {}
        for device in self._devices:
            if device.method == "counter":
                self._accumulators[device.name] = CounterTracker(device.wrap_range_j, device.max_power_w)
            elif device.method == "power_integration":
                self._accumulators[device.name] = PowerIntegrator()
        self._on_power: PowerCallback | None = None
        self._callback_failed = False
        self._previous_tick: Reading | None = None
        self._sampler: Sampler | None = None
        self._closed = False
        self._run_sampler(self._background_period_s())

    @property
    def devices(self) -> list[str]:
        return [device.name for device in self._devices]

    def read(self) -> Reading:
        with self._lock:
            t = self._clock()
            return Reading(t, {device.name: self._observe(device, t) for device in self._devices})

    def between(self, start: Reading, end: Reading) -> list[dict]:
        if not self._devices:
            return [
                {
                    "device": "none",
                    "joules": None,
                    "method": None,
                    "reason": self._overall_reason(),
                    "resolution_limited": False,
                }
            ]
        missing = [d.name for d in self._devices if d.name not in start.samples or d.name not in end.samples]
        if missing:
            raise ValueError(f"readings do not come from this meter (no sample for {', '.join(missing)})")
        return [
            energy_between(
                device.name,
                device.method,
                device.update_interval_s,
                start.samples[device.name],
                end.samples[device.name],
            )
            for device in self._devices
        ]

    def start_sampler(self, on_power: PowerCallback, hz: float = DEFAULT_HZ) -> None:
        if not (isinstance(hz, (int, float)) and math.isfinite(hz) and hz > 0):
            raise ValueError(f"sampler rate must be a positive number of hertz, got {hz!r}")
        self._on_power = on_power
        background = self._background_period_s()
        period = 1.0 / hz if background is None else min(1.0 / hz, background)
        self._run_sampler(period)

    def stop_sampler(self) -> None:
        self._on_power = None
        self._run_sampler(self._background_period_s())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._on_power = None
        self._run_sampler(None)
        for close in self._closers:
            try:
                close()
            except Exception:  # a library failing to shut down must not break the caller's cleanup
                log.debug("energy backend shutdown failed", exc_info=True)

    def tick(self) -> None:
        """One sampler step: keep accumulators current and report power (the thread calls it; tests
        call it directly to step a virtual clock)."""
        reading = self.read()
        on_power = self._on_power
        previous, self._previous_tick = self._previous_tick, reading
        if on_power is None:
            return
        t_ms = self._wall_ms()
        for device in self._devices:
            watts = self._power(device, previous, reading)
            if watts is None:
                continue
            try:
                on_power(device.name, t_ms, watts)
            except Exception:
                if not self._callback_failed:  # report once, keep measuring
                    self._callback_failed = True
                    log.exception("energy power callback failed")

    def _observe(self, device: EnergyDevice, t: float) -> Sample:
        accumulator = self._accumulators.get(device.name)
        try:
            if isinstance(accumulator, CounterTracker):
                return accumulator.observe(device.read_energy_j(), t)
            if isinstance(accumulator, PowerIntegrator):
                return accumulator.add(t, device.read_power_w())
            device.read_energy_j()  # an unmeasurable device raises with its reason
            return Sample(t, None, 0, "not_supported")
        except DeviceError as error:
            return Sample(t, None, 0, error.reason)

    def _power(self, device: EnergyDevice, previous: Reading | None, now: Reading) -> float | None:
        if device.has_power:
            try:
                return device.read_power_w()
            except DeviceError:
                return None
        if previous is None:
            return None
        before, after = previous.samples[device.name], now.samples[device.name]
        if before.joules is None or after.joules is None or before.epoch != after.epoch:
            return None
        elapsed = after.t - before.t
        if elapsed < device.update_interval_s or elapsed <= 0:
            return None
        return (after.joules - before.joules) / elapsed

    def _background_period_s(self) -> float | None:
        """How often the meter must look at its devices even when nobody asked for power."""
        if self._closed:
            return None
        if any(device.method == "power_integration" for device in self._devices):
            return 1.0 / DEFAULT_HZ
        # Wrapping counters must be seen at least once per wrap; look four times as often.
        gaps = [
            accumulator.safe_gap_s
            for accumulator in self._accumulators.values()
            if isinstance(accumulator, CounterTracker) and accumulator.safe_gap_s is not None
        ]
        return min(gaps) / 4 if gaps else None

    def _run_sampler(self, period_s: float | None) -> None:
        if self._sampler is not None:
            self._sampler.stop()
            self._sampler = None
        if period_s is not None and not self._closed:
            self._previous_tick = None
            self._sampler = Sampler(self.tick, period_s)

    def _overall_reason(self) -> Reason:
        reasons = set(self.unavailable.values())
        return next((r for r in _REASON_PRIORITY if r in reasons), "no_devices")


def open_meter(
    nvml: Any = None,
    amdsmi: Any = None,
    powercap_root: Path = POWERCAP_ROOT,
    environ: Mapping[str, str] = os.environ,
    clock: Callable[[], float] = time.monotonic,
    wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
) -> EnergyMeter:
    """A meter over every backend that works here. Never raises: what fails is reported in readings.

    The arguments exist for tests and the bench: library modules, the sysfs root and the clocks.
    """
    openers: list[tuple[str, Callable[[], Discovery]]] = [
        ("nvml", lambda: open_nvml(nvml, environ)),
        ("amdsmi", lambda: open_amd(amdsmi, environ)),
        ("rapl", lambda: open_rapl(powercap_root)),
    ]
    discoveries = []
    for backend, opener in openers:
        try:
            discoveries.append(opener())
        except Exception:  # third-party libraries can fail in ways they do not document
            log.warning("energy backend %s failed to open", backend, exc_info=True)
            discoveries.append(Discovery(backend, [], "not_supported"))
    return EnergyMeter(discoveries, clock, wall_ms)
