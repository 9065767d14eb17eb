"""Each backend through the public meter, with fakes of pynvml, amdsmi and the powercap tree."""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from fakes.energy import (
    AMDSMI_STATUS_NO_PERM,
    AMDSMI_STATUS_NOT_FOUND,
    NVML_ERROR_DRIVER_NOT_LOADED,
    NVML_ERROR_NO_PERMISSION,
    NVML_ERROR_NOT_SUPPORTED,
    FakeAmdGpu,
    FakeAmdsmi,
    FakeNvidiaGpu,
    FakeNvml,
    FakePowercap,
    PowerTrace,
    VirtualClock,
)

from nbprov.energy import open_meter
from nbprov.energy.nvml import pci_key
from nbprov.energy.rapl import open_rapl

TRACE = PowerTrace([(0.0, 60.0), (1.23, 310.0), (3.71, 120.0), (6.05, 255.0), (8.4, 80.0)])


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def no_libraries(monkeypatch):
    """Neither vendor library importable, whatever is installed on the test machine."""
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setitem(sys.modules, "amdsmi", None)


@pytest.fixture
def meters():
    opened = []
    yield opened
    for meter in opened:
        meter.close()


def nvidia(clock, index=0, **options) -> FakeNvidiaGpu:
    return FakeNvidiaGpu(
        uuid=f"GPU-{index:x}{index:x}{index:x}0aaaa-1111",
        bus_id=f"00000000:{0x3B + index:02X}:00.0",
        trace=TRACE,
        clock=clock,
        **options,
    )


def open_fake(meters, clock, tmp_path, nvml=None, amdsmi=None, environ=None):
    meter = open_meter(
        nvml=nvml,
        amdsmi=amdsmi,
        powercap_root=tmp_path / "no-powercap",
        environ=environ or {},
        clock=clock,
        wall_ms=clock.wall_ms,
    )
    meters.append(meter)
    return meter


def window(meter, clock, t0, t1):
    clock.t = t0
    start = meter.read()
    clock.t = t1
    return meter.between(start, meter.read())


# ---------------------------------------------------------------- NVML


@pytest.mark.parametrize("t0, t1", [(0.37, 8.81), (0.0, 10.0), (1.26, 3.74), (4.55, 6.66), (2.0, 2.35)])
def test_nvml_counter_energy_matches_the_trace_within_one_update(no_libraries, meters, clock, tmp_path, t0, t1):
    meter = open_fake(meters, clock, tmp_path, nvml=FakeNvml([nvidia(clock)]))
    [e] = window(meter, clock, t0, t1)
    assert e["device"] == "nvidia:0000:3b:00.0"
    assert (e["method"], e["reason"], e["resolution_limited"]) == ("counter", None, False)
    assert abs(e["joules"] - TRACE.energy_j(t0, t1)) <= TRACE.peak_w * 0.1


def test_nvml_short_windows_are_flagged(no_libraries, meters, clock, tmp_path):
    meter = open_fake(meters, clock, tmp_path, nvml=FakeNvml([nvidia(clock)]))
    [same_tick] = window(meter, clock, 1.01, 1.05)
    assert (same_tick["joules"], same_tick["resolution_limited"], same_tick["reason"]) == (None, True, None)
    [across_tick] = window(meter, clock, 1.08, 1.12)
    assert across_tick["resolution_limited"] is True
    assert across_tick["joules"] == pytest.approx(TRACE.energy_j(1.0, 1.1), abs=1e-3)


def test_nvml_integrates_averaged_power_without_counter(no_libraries, meters, clock, tmp_path):
    gpu = nvidia(clock, energy_error=NVML_ERROR_NOT_SUPPORTED)
    meter = open_fake(meters, clock, tmp_path, nvml=FakeNvml([gpu]))
    clock.t = 0.0
    start = meter.read()
    for step in range(1, 101):  # the sampler's 10 Hz, driven by hand on the virtual clock
        clock.t = step / 10
        meter.tick()
    [e] = meter.between(start, meter.read())
    assert (e["method"], e["reason"], e["resolution_limited"]) == ("power_integration", None, False)
    # A 1 s average lags the trace by up to one averaging window.
    assert abs(e["joules"] - TRACE.energy_j(0.0, 10.0)) <= TRACE.peak_w * 1.0


def test_nvml_power_integration_is_exact_on_steady_power(no_libraries, meters, clock, tmp_path):
    steady = FakeNvidiaGpu(
        "GPU-1", "00000000:3B:00.0", PowerTrace([(0.0, 200.0)]), clock, energy_error=NVML_ERROR_NOT_SUPPORTED
    )
    meter = open_fake(meters, clock, tmp_path, nvml=FakeNvml([steady]))
    clock.t = 2.0
    start = meter.read()
    for step in range(21, 51):
        clock.t = step / 10
        meter.tick()
    [e] = meter.between(start, meter.read())
    assert e["joules"] == pytest.approx(600.0)


def test_nvml_device_without_counter_or_power_reports_not_supported(no_libraries, meters, clock, tmp_path):
    gpu = nvidia(clock, energy_error=NVML_ERROR_NOT_SUPPORTED, power_error=NVML_ERROR_NOT_SUPPORTED)
    meter = open_fake(meters, clock, tmp_path, nvml=FakeNvml([gpu]))
    [e] = window(meter, clock, 0.0, 5.0)
    assert e == {
        "device": "nvidia:0000:3b:00.0",
        "joules": None,
        "method": None,
        "reason": "not_supported",
        "resolution_limited": False,
    }


def test_nvml_permission_denied(no_libraries, meters, clock, tmp_path):
    gpu = nvidia(clock, energy_error=NVML_ERROR_NO_PERMISSION, power_error=NVML_ERROR_NO_PERMISSION)
    meter = open_fake(meters, clock, tmp_path, nvml=FakeNvml([gpu]))
    [e] = window(meter, clock, 0.0, 5.0)
    assert (e["joules"], e["reason"]) == (None, "permission")


def test_nvml_device_lost_mid_run(no_libraries, meters, clock, tmp_path):
    gpu = nvidia(clock)
    meter = open_fake(meters, clock, tmp_path, nvml=FakeNvml([gpu]))
    start = meter.read()
    clock.t = 4.0
    gpu.lost = True
    [e] = meter.between(start, meter.read())
    assert (e["joules"], e["reason"], e["method"]) == (None, "device_lost", "counter")


def test_nvml_counter_reset_mid_run(no_libraries, meters, clock, tmp_path):
    gpu = nvidia(clock)
    meter = open_fake(meters, clock, tmp_path, nvml=FakeNvml([gpu]))
    start = meter.read()
    clock.t = 4.0
    gpu.counter_offset_mj = -int(TRACE.energy_j(0, 3.9) * 1000)  # driver reloaded: counter restarted
    [e] = meter.between(start, meter.read())
    assert (e["joules"], e["reason"]) == (None, "counter_reset")


def test_cuda_visible_devices_chooses_the_measured_gpus(no_libraries, meters, clock, tmp_path):
    gpus = [nvidia(clock, i) for i in range(3)]
    nvml = FakeNvml(gpus)
    meter = open_fake(meters, clock, tmp_path, nvml=nvml, environ={"CUDA_VISIBLE_DEVICES": f"2,{gpus[1].uuid}"})
    assert meter.devices == ["nvidia:0000:3d:00.0", "nvidia:0000:3c:00.0"]


def test_cuda_visible_devices_empty_means_no_devices(no_libraries, meters, clock, tmp_path):
    nvml = FakeNvml([nvidia(clock)])
    meter = open_fake(meters, clock, tmp_path, nvml=nvml, environ={"CUDA_VISIBLE_DEVICES": ""})
    assert meter.unavailable["nvml"] == "no_devices"
    assert nvml.initialised == 0  # shut down again straight away
    [e] = window(meter, clock, 0.0, 1.0)
    assert (e["device"], e["joules"]) == ("none", None)


@pytest.mark.parametrize(
    "init_error, reason",
    [(NVML_ERROR_DRIVER_NOT_LOADED, "library_not_found"), (NVML_ERROR_NO_PERMISSION, "permission")],
)
def test_nvml_init_failure(no_libraries, meters, clock, tmp_path, init_error, reason):
    meter = open_fake(meters, clock, tmp_path, nvml=FakeNvml([nvidia(clock)], init_error=init_error))
    assert meter.unavailable["nvml"] == reason
    assert meter.devices == []


def test_nvml_zero_gpus(no_libraries, meters, clock, tmp_path):
    meter = open_fake(meters, clock, tmp_path, nvml=FakeNvml([]))
    assert meter.unavailable["nvml"] == "no_devices"


def test_close_shuts_nvml_down_once(no_libraries, meters, clock, tmp_path):
    nvml = FakeNvml([nvidia(clock)])
    meter = open_fake(meters, clock, tmp_path, nvml=nvml)
    assert nvml.initialised == 1
    meter.close()
    meter.close()
    assert nvml.initialised == 0


def test_pci_key_normalises_nvml_bus_ids():
    assert pci_key("00000000:3B:00.0") == "0000:3b:00.0"
    assert pci_key(b"00000001:AF:00.0") == "0001:af:00.0"


# ---------------------------------------------------------------- nothing usable


def test_no_library_anywhere_never_reports_zero(no_libraries, meters, clock, tmp_path):
    meter = open_fake(meters, clock, tmp_path)
    assert meter.unavailable == {"nvml": "library_not_found", "amdsmi": "library_not_found", "rapl": "not_supported"}
    [e] = window(meter, clock, 0.0, 60.0)
    assert e == {
        "device": "none",
        "joules": None,
        "method": None,
        "reason": "not_supported",
        "resolution_limited": False,
    }


def test_only_missing_libraries_reports_library_not_found(no_libraries, meters, clock, tmp_path):
    meter = open_fake(meters, clock, tmp_path)
    meter.unavailable.pop("rapl")
    [e] = window(meter, clock, 0.0, 1.0)
    assert e["reason"] == "library_not_found"


# ---------------------------------------------------------------- AMD


def amd_gpu(clock, index=0, **options) -> FakeAmdGpu:
    return FakeAmdGpu(
        bdf=f"0000:C{index}:00.0",
        uuid=f"{index}{index}ff74a0-0000-1000-80d5-a4d7d5d5e48f",
        trace=TRACE,
        clock=clock,
        **options,
    )


@pytest.mark.parametrize("legacy_key", [False, True])
def test_amd_counter_energy(no_libraries, meters, clock, tmp_path, legacy_key):
    amdsmi = FakeAmdsmi([amd_gpu(clock, legacy_key=legacy_key)])
    meter = open_fake(meters, clock, tmp_path, amdsmi=amdsmi)
    assert amdsmi.init_flags == [int(amdsmi.AmdSmiInitFlags.INIT_AMD_GPUS)]
    [e] = window(meter, clock, 0.5, 7.25)
    assert (e["device"], e["method"], e["reason"]) == ("amd:0000:c0:00.0", "counter", None)
    assert e["joules"] == pytest.approx(TRACE.energy_j(0.5, 7.25), abs=2 * 15.3e-6)
    meter.close()
    assert amdsmi.shut_down == 1


def test_hip_visible_devices_by_uuid(no_libraries, meters, clock, tmp_path):
    amdsmi = FakeAmdsmi([amd_gpu(clock, i) for i in range(3)])
    meter = open_fake(meters, clock, tmp_path, amdsmi=amdsmi, environ={"HIP_VISIBLE_DEVICES": "GPU-11ff74a0,0"})
    assert meter.devices == ["amd:0000:c1:00.0", "amd:0000:c0:00.0"]


def test_amd_permission_and_device_lost(no_libraries, meters, clock, tmp_path):
    denied, lost_later = amd_gpu(clock, 0, error=AMDSMI_STATUS_NO_PERM), amd_gpu(clock, 1)
    meter = open_fake(meters, clock, tmp_path, amdsmi=FakeAmdsmi([denied, lost_later]))
    start = meter.read()
    clock.t = 3.0
    lost_later.error = AMDSMI_STATUS_NOT_FOUND
    entries = meter.between(start, meter.read())
    assert [(e["joules"], e["reason"]) for e in entries] == [(None, "permission"), (None, "device_lost")]


# ---------------------------------------------------------------- RAPL

MAX_RANGE_UJ = 262_143_328_850


def powercap(tmp_path) -> FakePowercap:
    tree = FakePowercap(tmp_path / "powercap")
    tree.add_zone("intel-rapl:0", "package-0", MAX_RANGE_UJ - 1_000_000, MAX_RANGE_UJ)
    tree.add_zone("intel-rapl:0:0", "core", 5, MAX_RANGE_UJ)
    tree.add_zone("intel-rapl:1", "package-1", 7_000_000, MAX_RANGE_UJ)
    tree.add_zone("intel-rapl:2", "psys", 5, MAX_RANGE_UJ)
    tree.add_zone("intel-rapl-mmio:0", "package-0", 5, MAX_RANGE_UJ)
    return tree


def open_rapl_meter(meters, clock, tree):
    meter = open_meter(nvml=None, amdsmi=None, powercap_root=tree.root, environ={}, clock=clock, wall_ms=clock.wall_ms)
    meters.append(meter)
    return meter


def test_rapl_measures_package_zones_only_and_handles_wrap(no_libraries, meters, clock, tmp_path):
    tree = powercap(tmp_path)
    meter = open_rapl_meter(meters, clock, tree)
    assert meter.devices == ["cpu:package-0", "cpu:package-1"]
    start = meter.read()
    clock.t = 2.0
    tree.set_energy("intel-rapl:0", 3_000_000)  # wrapped: 1 J before the top, 3 J after
    tree.set_energy("intel-rapl:1", 9_500_000)
    entries = meter.between(start, meter.read())
    assert [(e["device"], e["joules"], e["method"]) for e in entries] == [
        ("cpu:package-0", pytest.approx(4.0), "counter"),
        ("cpu:package-1", pytest.approx(2.5), "counter"),
    ]


def test_rapl_unobserved_longer_than_a_wrap_is_a_reset(no_libraries, meters, clock, tmp_path):
    tree = powercap(tmp_path)
    meter = open_rapl_meter(meters, clock, tree)
    start = meter.read()
    clock.t = MAX_RANGE_UJ / 1e6 / 1000.0 + 1  # longer than a wrap at the 1000 W ceiling
    entries = meter.between(start, meter.read())
    assert [(e["joules"], e["reason"]) for e in entries] == [(None, "counter_reset")] * 2


def test_rapl_without_package_zones(no_libraries, meters, clock, tmp_path):
    tree = FakePowercap(tmp_path / "powercap")
    tree.add_zone("intel-rapl:0", "psys", 5, MAX_RANGE_UJ)
    meter = open_rapl_meter(meters, clock, tree)
    assert meter.unavailable["rapl"] == "no_devices"


def open_rapl_as_unprivileged_user(root: Path) -> list:
    """open_rapl run in a forked child that has given up root, so the kernel really says EACCES."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        status = 1
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            found = open_rapl(root)
            os.write(
                write_end, json.dumps([[d.name, d.method, getattr(d, "reason", None)] for d in found.devices]).encode()
            )
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        output = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0
    return json.loads(output)


def test_rapl_permission_denied_by_the_kernel():
    """energy_uj is root-only on current kernels (CVE-2020-8694); read it without privileges."""
    root = Path(tempfile.mkdtemp(prefix="nbprov-rapl-"))
    try:
        root.chmod(0o755)
        tree = FakePowercap(root / "powercap")
        zone = tree.add_zone("intel-rapl:0", "package-0", 5, MAX_RANGE_UJ)
        (zone / "energy_uj").chmod(0o400 if os.geteuid() == 0 else 0o000)
        assert open_rapl_as_unprivileged_user(tree.root) == [["cpu:package-0", None, "permission"]]
    finally:
        shutil.rmtree(root)
