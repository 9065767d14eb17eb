"""Fakes of the energy libraries for tests without a GPU: same call names, error types and units as
`pynvml` (nvidia-ml-py) and `amdsmi`, driven by a virtual clock and a scripted power trace."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace


class VirtualClock:
    def __init__(self, start_s: float = 0.0) -> None:
        self.t = start_s

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def wall_ms(self) -> int:
        return 1_700_000_000_000 + round(self.t * 1000)


class PowerTrace:
    """Piecewise-constant power: `steps` is [(from_s, watts), ...] sorted; 0 W before the first."""

    def __init__(self, steps: list[tuple[float, float]]) -> None:
        self.steps = steps

    @property
    def peak_w(self) -> float:
        return max(w for _, w in self.steps)

    def watts(self, t: float) -> float:
        current = 0.0
        for start, w in self.steps:
            if t >= start:
                current = w
        return current

    def energy_j(self, t0: float, t1: float) -> float:
        """Exact integral of the trace over [t0, t1]."""
        total = 0.0
        bounds = self.steps + [(math.inf, 0.0)]
        for (start, w), (end, _) in zip(bounds, bounds[1:], strict=False):
            lo, hi = max(start, t0), min(end, t1)
            if hi > lo:
                total += (hi - lo) * w
        return total


# ---------------------------------------------------------------- NVML (pynvml)

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_RESET_REQUIRED = 16
NVML_ERROR_GPU_NOT_FOUND = 28
NVML_ERROR_UNKNOWN = 999


class NVMLError(Exception):
    """As in pynvml: NVMLError(code) builds the per-code subclass and carries `.value`."""

    _valClassMapping: dict[int, type] = {}

    def __new__(cls, value: int):
        if cls is NVMLError:
            cls = NVMLError._valClassMapping.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, value: int) -> None:
        super().__init__(value)

    def __str__(self) -> str:
        return f"NVML Error with code {self.value}"


for _name, _code in list(globals().items()):
    if _name.startswith("NVML_ERROR_"):
        _class_name = "NVMLError_" + "".join(p.capitalize() for p in _name[len("NVML_ERROR_") :].split("_"))
        _class = type(_class_name, (NVMLError,), {})
        globals()[_class_name] = _class
        NVMLError._valClassMapping[_code] = _class


@dataclass
class FakeNvidiaGpu:
    uuid: str
    bus_id: str  # NVML style: "00000000:3B:00.0"
    trace: PowerTrace
    clock: VirtualClock
    counter_update_s: float = 0.1
    power_window_s: float = 1.0
    counter_offset_mj: int = 123_456_789  # energy since driver load, before the test began
    energy_error: int | None = None  # NVML code raised by the energy counter
    power_error: int | None = None
    lost: bool = False

    def _check(self, error: int | None) -> None:
        if self.lost:
            raise NVMLError(NVML_ERROR_GPU_IS_LOST)
        if error is not None:
            raise NVMLError(error)

    def total_energy_mj(self) -> int:
        self._check(self.energy_error)
        # The driver refreshes the counter only every `counter_update_s`.
        refreshed_at = math.floor(self.clock() / self.counter_update_s + 1e-9) * self.counter_update_s
        return self.counter_offset_mj + int(self.trace.energy_j(0.0, refreshed_at) * 1000)

    def power_mw(self) -> int:
        self._check(self.power_error)
        # Ampere and newer report the average over the last second.
        t = self.clock()
        return int(self.trace.energy_j(t - self.power_window_s, t) / self.power_window_s * 1000)


class FakeNvml:
    """Stands in for the `pynvml` module."""

    NVMLError = NVMLError

    def __init__(self, gpus: list[FakeNvidiaGpu], init_error: int | None = None) -> None:
        self.gpus = gpus
        self.init_error = init_error
        self.initialised = 0
        for name, value in globals().items():
            if name.startswith("NVML_ERROR_") or name.startswith("NVMLError_"):
                setattr(self, name, value)

    def _ready(self) -> None:
        if self.initialised <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self._ready()
        self.initialised -= 1

    def nvmlDeviceGetCount(self) -> int:
        self._ready()
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeNvidiaGpu:
        self._ready()
        return self.gpus[index]

    def nvmlDeviceGetUUID(self, handle: FakeNvidiaGpu) -> str:
        self._ready()
        return handle.uuid

    def nvmlDeviceGetPciInfo(self, handle: FakeNvidiaGpu) -> SimpleNamespace:
        self._ready()
        return SimpleNamespace(busId=handle.bus_id, busIdLegacy=handle.bus_id[4:])

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: FakeNvidiaGpu) -> int:
        self._ready()
        return handle.total_energy_mj()

    def nvmlDeviceGetPowerUsage(self, handle: FakeNvidiaGpu) -> int:
        self._ready()
        return handle.power_mw()


# ---------------------------------------------------------------- AMD SMI (amdsmi)

AMDSMI_STATUS_NOT_SUPPORTED = 2
AMDSMI_STATUS_FAIL_LOAD_MODULE = 4
AMDSMI_STATUS_NO_PERM = 10
AMDSMI_STATUS_NOT_FOUND = 31


class AmdSmiException(Exception):
    pass


class AmdSmiLibraryException(AmdSmiException):
    def __init__(self, err_code: int) -> None:
        super().__init__(abs(err_code))
        self.err_code = abs(err_code)

    def get_error_code(self) -> int:
        return self.err_code


class AmdSmiInitFlags(enum.IntEnum):
    INIT_ALL_PROCESSORS = 0xFFFFFFFF
    INIT_AMD_CPUS = 1 << 0
    INIT_AMD_GPUS = 1 << 1


@dataclass
class FakeAmdGpu:
    bdf: str  # "0000:c1:00.0"
    uuid: str
    trace: PowerTrace
    clock: VirtualClock
    resolution_uj: float = 15.3
    legacy_key: bool = False  # ROCm < 6.2 called the accumulator "power"
    error: int | None = None


class FakeAmdsmi:
    """Stands in for the `amdsmi` module."""

    AmdSmiException = AmdSmiException
    AmdSmiLibraryException = AmdSmiLibraryException
    AmdSmiInitFlags = AmdSmiInitFlags

    def __init__(self, gpus: list[FakeAmdGpu]) -> None:
        self.gpus = gpus
        self.init_flags: list[int] = []
        self.shut_down = 0

    def amdsmi_init(self, flag: AmdSmiInitFlags = AmdSmiInitFlags.INIT_AMD_GPUS) -> None:
        self.init_flags.append(int(flag))

    def amdsmi_shut_down(self) -> None:
        self.shut_down += 1

    def amdsmi_get_processor_handles(self) -> list[FakeAmdGpu]:
        return list(self.gpus)

    def amdsmi_get_gpu_device_bdf(self, handle: FakeAmdGpu) -> str:
        return handle.bdf

    def amdsmi_get_gpu_device_uuid(self, handle: FakeAmdGpu) -> str:
        return handle.uuid

    def amdsmi_get_energy_count(self, handle: FakeAmdGpu) -> dict:
        if handle.error is not None:
            raise AmdSmiLibraryException(handle.error)
        t = handle.clock()
        ticks = int(handle.trace.energy_j(0.0, t) * 1e6 / handle.resolution_uj)
        key = "power" if handle.legacy_key else "energy_accumulator"
        return {key: ticks, "counter_resolution": handle.resolution_uj, "timestamp": int(t * 1e9)}


# ---------------------------------------------------------------- RAPL (powercap sysfs)


@dataclass
class FakePowercap:
    """A powercap tree like /sys/class/powercap, with package counters set by the test."""

    root: Path
    zones: dict[str, Path] = field(default_factory=dict)

    def add_zone(self, directory: str, name: str, energy_uj: int, max_range_uj: int) -> Path:
        zone = self.root / directory
        zone.mkdir(parents=True)
        (zone / "name").write_text(name + "\n")
        (zone / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
        (zone / "energy_uj").write_text(f"{energy_uj}\n")
        self.zones[directory] = zone
        return zone

    def set_energy(self, directory: str, energy_uj: int) -> None:
        (self.zones[directory] / "energy_uj").write_text(f"{energy_uj}\n")
