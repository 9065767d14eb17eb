"""AMD GPUs through AMD SMI (the `amdsmi` Python package shipped with ROCm), imported lazily."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

from .core import DeviceError, Discovery, EnergyDevice, Method, Reason, UnavailableDevice
from .visible import select_visible

# amdsmi_status_t values (amdsmi.h); the Python package does not re-export them at top level.
STATUS_NOT_SUPPORTED = 2
STATUS_NOT_YET_IMPLEMENTED = 3
STATUS_FAIL_LOAD_MODULE = 4
STATUS_FAIL_LOAD_SYMBOL = 5
STATUS_NO_PERM = 10
STATUS_NOT_FOUND = 31
STATUS_DRIVER_NOT_LOADED = 34
STATUS_AMDGPU_RESTART_ERR = 54

# The SMU firmware accumulates GPU energy about every millisecond (bench_energy.py measures it).
COUNTER_UPDATE_S = 0.001


def error_reason(error: Exception) -> Reason:
    code = error.get_error_code() if hasattr(error, "get_error_code") else None
    if code == STATUS_NO_PERM:
        return "permission"
    if code in (STATUS_NOT_FOUND, STATUS_AMDGPU_RESTART_ERR):
        return "device_lost"
    if code in (STATUS_FAIL_LOAD_MODULE, STATUS_FAIL_LOAD_SYMBOL, STATUS_DRIVER_NOT_LOADED):
        return "library_not_found"
    return "not_supported"


def energy_joules(count: Mapping[str, Any]) -> float:
    """amdsmi_get_energy_count's dict in joules: accumulator ticks times resolution (µJ per tick).

    ROCm before 6.2 named the accumulator "power".
    """
    ticks = count["energy_accumulator"] if "energy_accumulator" in count else count["power"]
    return float(ticks) * float(count["counter_resolution"]) / 1e6


class AmdDevice:
    def __init__(self, amdsmi: Any, handle: Any, name: str) -> None:
        self._amdsmi = amdsmi
        self._handle = handle
        self.name = name
        self.method: Method | None = "counter"
        self.has_power = False  # power for live charts comes from counter differences
        self.update_interval_s = COUNTER_UPDATE_S
        self.wrap_range_j: float | None = None  # 64-bit accumulator: resets only
        self.max_power_w: float | None = None

    def read_energy_j(self) -> float:
        try:
            return energy_joules(self._amdsmi.amdsmi_get_energy_count(self._handle))
        except self._amdsmi.AmdSmiException as error:
            raise DeviceError(error_reason(error), str(error)) from error

    def read_power_w(self) -> float:
        raise DeviceError("not_supported", "power is derived from the energy counter")


def _probe(amdsmi: Any, handle: Any, name: str) -> EnergyDevice:
    device = AmdDevice(amdsmi, handle, name)
    try:
        device.read_energy_j()
    except DeviceError as error:
        return UnavailableDevice(name, error.reason)
    return device


def open_amd(amdsmi: Any = None, environ: Mapping[str, str] = os.environ) -> Discovery:
    if amdsmi is None:
        try:
            amdsmi = importlib.import_module("amdsmi")
        except (ImportError, OSError):  # the package loads libamd_smi.so at import
            return Discovery("amdsmi", [], "library_not_found")
    try:
        amdsmi.amdsmi_init(amdsmi.AmdSmiInitFlags.INIT_AMD_GPUS)
    except amdsmi.AmdSmiException as error:
        return Discovery("amdsmi", [], error_reason(error))
    try:
        handles = list(amdsmi.amdsmi_get_processor_handles())
        uuids = [str(amdsmi.amdsmi_get_gpu_device_uuid(handle)) for handle in handles]
        chosen = select_visible(environ.get("HIP_VISIBLE_DEVICES"), uuids)
        devices = [
            _probe(amdsmi, handles[i], "amd:" + str(amdsmi.amdsmi_get_gpu_device_bdf(handles[i])).lower())
            for i in chosen
        ]
    except amdsmi.AmdSmiException as error:
        amdsmi.amdsmi_shut_down()
        return Discovery("amdsmi", [], error_reason(error))
    if not devices:
        amdsmi.amdsmi_shut_down()
        return Discovery("amdsmi", [], "no_devices")
    return Discovery("amdsmi", devices, None, close=amdsmi.amdsmi_shut_down)
