"""The meter's sampler thread and its contract with the runs code."""

import sys
import threading
import time

import pytest
from fakes.energy import FakeNvidiaGpu, FakeNvml, FakePowercap, PowerTrace, VirtualClock

from nbprov.energy import open_meter

STEADY = PowerTrace([(0.0, 180.0)])


@pytest.fixture
def no_libraries(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setitem(sys.modules, "amdsmi", None)


def sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "nbprov-energy-sampler"]


def wait_for(condition, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_sampler_thread_reports_power_until_stopped(no_libraries, tmp_path):
    clock = VirtualClock()
    gpu = FakeNvidiaGpu("GPU-1", "00000000:3B:00.0", STEADY, clock)
    meter = open_meter(
        nvml=FakeNvml([gpu]), powercap_root=tmp_path / "none", environ={}, clock=clock, wall_ms=clock.wall_ms
    )
    assert sampler_threads() == []  # a counter that does not wrap needs no thread
    calls = []
    clock.t = 2.0  # past the first second, where the fake's 1 s average still ramps up
    meter.start_sampler(lambda device, t_ms, watts: calls.append((device, t_ms, watts)), hz=50)
    [thread] = sampler_threads()
    assert thread.daemon
    assert wait_for(lambda: len(calls) >= 5)
    meter.stop_sampler()
    assert sampler_threads() == []
    count = len(calls)
    time.sleep(0.1)
    assert len(calls) == count
    assert {device for device, _, _ in calls} == {"nvidia:0000:3b:00.0"}
    assert all(isinstance(t_ms, int) and watts == pytest.approx(180.0) for _, t_ms, watts in calls)
    meter.close()


def test_failing_callback_does_not_stop_sampling(no_libraries, tmp_path):
    clock = VirtualClock()
    gpu = FakeNvidiaGpu("GPU-1", "00000000:3B:00.0", STEADY, clock)
    meter = open_meter(nvml=FakeNvml([gpu]), powercap_root=tmp_path / "none", environ={}, clock=clock)
    calls = []

    def broken(device, t_ms, watts):
        calls.append(watts)
        raise RuntimeError("stream closed")

    meter.start_sampler(broken, hz=100)
    assert wait_for(lambda: len(calls) >= 3)
    meter.close()
    assert sampler_threads() == []


def test_power_of_counter_only_devices_comes_from_counter_differences(no_libraries, tmp_path):
    clock = VirtualClock()
    tree = FakePowercap(tmp_path / "powercap")
    tree.add_zone("intel-rapl:0", "package-0", 1_000_000, 262_143_328_850)
    meter = open_meter(powercap_root=tree.root, environ={}, clock=clock, wall_ms=clock.wall_ms)
    [keeper] = sampler_threads()  # the wrapping counter is watched even without a callback
    assert keeper.daemon
    calls = []
    meter.start_sampler(lambda *call: calls.append(call), hz=1e-3)  # then ticks by hand
    clock.t = 1000.0
    meter.tick()
    clock.t = 1000.5
    tree.set_energy("intel-rapl:0", 36_000_000)  # 35 J in 0.5 s
    meter.tick()
    assert calls[-1] == ("cpu:package-0", clock.wall_ms(), pytest.approx(70.0))
    meter.close()


def test_power_integration_runs_in_the_background(no_libraries, tmp_path):
    gpu = FakeNvidiaGpu("GPU-1", "00000000:3B:00.0", STEADY, time.monotonic, energy_error=3)
    meter = open_meter(nvml=FakeNvml([gpu]), powercap_root=tmp_path / "none", environ={})
    start = meter.read()
    time.sleep(1.3)
    [e] = meter.between(start, meter.read())
    meter.close()
    assert e["method"] == "power_integration"
    # The fake's 1 s average ramps up from 0 W at its start: between 0.3 s and 1.3 s of 180 W.
    assert 0.3 * 180 <= e["joules"] <= 1.3 * 180 + 1


def test_sampler_rate_must_be_positive(no_libraries, tmp_path):
    meter = open_meter(powercap_root=tmp_path / "none", environ={})
    for hz in (0, -1, float("nan"), float("inf"), "10"):
        with pytest.raises(ValueError, match="positive number of hertz"):
            meter.start_sampler(lambda *call: None, hz=hz)
    meter.close()


def test_readings_of_another_meter_are_refused(no_libraries, tmp_path):
    tree = FakePowercap(tmp_path / "powercap")
    tree.add_zone("intel-rapl:0", "package-0", 1, 262_143_328_850)
    empty = open_meter(powercap_root=tmp_path / "none", environ={})
    rapl = open_meter(powercap_root=tree.root, environ={})
    with pytest.raises(ValueError, match="cpu:package-0"):
        rapl.between(empty.read(), rapl.read())
    empty.close()
    rapl.close()


def test_read_is_cheap(no_libraries, tmp_path):
    tree = FakePowercap(tmp_path / "powercap")
    tree.add_zone("intel-rapl:0", "package-0", 1, 262_143_328_850)
    meter = open_meter(powercap_root=tree.root, environ={})
    started = time.perf_counter()
    for _ in range(200):
        meter.read()
    per_read_ms = (time.perf_counter() - started) / 200 * 1000
    meter.close()
    assert per_read_ms < 1.0
