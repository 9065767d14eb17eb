"""Energy measurement: NVIDIA (NVML), AMD (amdsmi) and CPU package (RAPL) behind one meter."""

from .meter import EnergyMeter, Reading, open_meter

__all__ = ["EnergyMeter", "Reading", "open_meter"]
