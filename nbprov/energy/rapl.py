"""CPU package energy from Linux RAPL through the powercap sysfs tree."""

from __future__ import annotations

import re
from pathlib import Path

from .core import DeviceError, Discovery, EnergyDevice, Method, UnavailableDevice

POWERCAP_ROOT = Path("/sys/class/powercap")
# The RAPL energy status register is updated about every millisecond.
COUNTER_UPDATE_S = 0.001
# No CPU package draws this much; it bounds how long the counter may go unobserved (it wraps).
MAX_PACKAGE_POWER_W = 1000.0

_TOP_LEVEL_ZONE = re.compile(r"intel-rapl:\d+")
_PACKAGE_NAME = re.compile(r"package-\d+")


class RaplPackage:
    def __init__(self, zone: Path, name: str, wrap_range_j: float) -> None:
        self._energy_file = zone / "energy_uj"
        self.name = name
        self.method: Method | None = "counter"
        self.has_power = False  # power for live charts comes from counter differences
        self.update_interval_s = COUNTER_UPDATE_S
        self.wrap_range_j: float | None = wrap_range_j
        self.max_power_w: float | None = MAX_PACKAGE_POWER_W

    def read_energy_j(self) -> float:
        try:
            return int(self._energy_file.read_text()) / 1e6
        except PermissionError as error:
            raise DeviceError("permission", str(error)) from error
        except FileNotFoundError as error:
            raise DeviceError("device_lost", str(error)) from error
        except (OSError, ValueError) as error:
            raise DeviceError("not_supported", str(error)) from error

    def read_power_w(self) -> float:
        raise DeviceError("not_supported", "power is derived from the energy counter")


def _package(zone: Path) -> EnergyDevice | None:
    try:
        zone_name = (zone / "name").read_text().strip()
    except OSError:
        return None
    if not _PACKAGE_NAME.fullmatch(zone_name):
        return None  # psys, dram and other non-package zones
    name = "cpu:" + zone_name
    try:
        wrap_range_j = int((zone / "max_energy_range_uj").read_text()) / 1e6
        device = RaplPackage(zone, name, wrap_range_j)
        device.read_energy_j()
    except PermissionError:
        return UnavailableDevice(name, "permission")
    except DeviceError as error:
        return UnavailableDevice(name, error.reason)
    except (OSError, ValueError):
        return UnavailableDevice(name, "not_supported")
    return device


def open_rapl(root: Path = POWERCAP_ROOT) -> Discovery:
    if not root.is_dir():
        return Discovery("rapl", [], "not_supported")
    devices: dict[str, EnergyDevice] = {}
    for zone in sorted(root.iterdir()):
        if _TOP_LEVEL_ZONE.fullmatch(zone.name):
            device = _package(zone)
            if device is not None:
                devices.setdefault(device.name, device)
    if not devices:
        return Discovery("rapl", [], "no_devices")
    return Discovery("rapl", list(devices.values()), None)
