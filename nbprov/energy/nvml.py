"""NVIDIA GPUs through NVML (`pynvml` from the `nvidia-ml-py` package), imported lazily."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from typing import Any

from .core import DeviceError, Discovery, EnergyDevice, Method, Reason, UnavailableDevice
from .visible import select_visible

# nvmlDeviceGetTotalEnergyConsumption is refreshed about every 100 ms on most GPUs (bench_energy.py
# measures it); nvmlDeviceGetPowerUsage is a 1 s average on Ampere and newer.
COUNTER_UPDATE_S = 0.1
POWER_AVERAGING_S = 1.0


def pci_key(bus_id: Any) -> str:
    """NVML's "00000000:3B:00.0" (str, or bytes from older bindings) as "0000:3b:00.0"."""
    text = bus_id.decode() if isinstance(bus_id, bytes) else str(bus_id)
    domain, _, rest = text.strip().partition(":")
    return f"{int(domain, 16):04x}:{rest.lower()}"


def error_reason(nvml: Any, error: Exception) -> Reason:
    code = getattr(error, "value", None)
    if code == nvml.NVML_ERROR_NO_PERMISSION:
        return "permission"
    if code in (
        nvml.NVML_ERROR_GPU_IS_LOST,
        getattr(nvml, "NVML_ERROR_RESET_REQUIRED", None),
        getattr(nvml, "NVML_ERROR_GPU_NOT_FOUND", None),
    ):
        return "device_lost"
    if code in (nvml.NVML_ERROR_LIBRARY_NOT_FOUND, nvml.NVML_ERROR_DRIVER_NOT_LOADED):
        return "library_not_found"
    return "not_supported"


class NvmlDevice:
    def __init__(self, nvml: Any, handle: Any, name: str, method: Method, has_power: bool) -> None:
        self._nvml = nvml
        self._handle = handle
        self.name = name
        self.method: Method | None = method
        self.has_power = has_power
        self.update_interval_s = COUNTER_UPDATE_S if method == "counter" else POWER_AVERAGING_S
        self.wrap_range_j: float | None = None  # 64-bit millijoules since driver load: resets only
        self.max_power_w: float | None = None

    def _call(self, function: Callable[[Any], int]) -> int:
        try:
            return function(self._handle)
        except self._nvml.NVMLError as error:
            raise DeviceError(error_reason(self._nvml, error), str(error)) from error

    def read_energy_j(self) -> float:
        if self.method == "counter":
            return self._call(self._nvml.nvmlDeviceGetTotalEnergyConsumption) / 1000.0
        raise DeviceError("not_supported", "no energy counter")

    def read_power_w(self) -> float:
        return self._call(self._nvml.nvmlDeviceGetPowerUsage) / 1000.0


def _probe(nvml: Any, handle: Any, name: str) -> EnergyDevice:
    """Choose the best method the device supports: its energy counter, else power integration."""
    power_reason: Reason | None = None
    try:
        nvml.nvmlDeviceGetPowerUsage(handle)
    except nvml.NVMLError as error:
        power_reason = error_reason(nvml, error)
    try:
        nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        return NvmlDevice(nvml, handle, name, "counter", has_power=power_reason is None)
    except nvml.NVMLError as error:
        counter_reason = error_reason(nvml, error)
    if power_reason is None:
        return NvmlDevice(nvml, handle, name, "power_integration", has_power=True)
    # A lost device or a permission problem says more than "not supported".
    reason = counter_reason if counter_reason != "not_supported" else power_reason
    return UnavailableDevice(name, reason)


def open_nvml(nvml: Any = None, environ: Mapping[str, str] = os.environ) -> Discovery:
    if nvml is None:
        try:
            nvml = importlib.import_module("pynvml")
        except ImportError:
            return Discovery("nvml", [], "library_not_found")
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as error:
        return Discovery("nvml", [], error_reason(nvml, error))
    try:
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
        uuids = [_text(nvml.nvmlDeviceGetUUID(handle)) for handle in handles]
        chosen = select_visible(environ.get("CUDA_VISIBLE_DEVICES"), uuids)
        devices = [
            _probe(nvml, handles[i], "nvidia:" + pci_key(nvml.nvmlDeviceGetPciInfo(handles[i]).busId)) for i in chosen
        ]
    except nvml.NVMLError as error:
        nvml.nvmlShutdown()
        return Discovery("nvml", [], error_reason(nvml, error))
    if not devices:
        nvml.nvmlShutdown()
        return Discovery("nvml", [], "no_devices")
    return Discovery("nvml", devices, None, close=nvml.nvmlShutdown)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
