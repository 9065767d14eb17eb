"""Pure energy bookkeeping: counters that wrap or reset, power integration, window entries."""

import pytest

from nbprov.energy.core import CounterTracker, PowerIntegrator, Sample, energy_between
from nbprov.energy.visible import select_visible


def entry(start: Sample, end: Sample, interval: float = 0.1) -> dict:
    return energy_between("dev", "counter", interval, start, end)


def test_wrapping_counter_adds_the_range_once():
    tracker = CounterTracker(wrap_range_j=1000.0, max_power_w=100.0)  # safe for 10 s
    a = tracker.observe(900.0, 0.0)
    b = tracker.observe(100.0, 3.0)
    assert entry(a, b)["joules"] == pytest.approx(200.0)


def test_wrapping_counter_unseen_too_long_is_a_reset_not_a_guess():
    tracker = CounterTracker(wrap_range_j=1000.0, max_power_w=100.0)
    a = tracker.observe(900.0, 0.0)
    b = tracker.observe(950.0, 11.0)  # could have wrapped once or twice in 11 s
    e = entry(a, b)
    assert (e["joules"], e["reason"]) == (None, "counter_reset")


def test_non_wrapping_counter_going_back_is_a_reset():
    tracker = CounterTracker(wrap_range_j=None, max_power_w=None)
    a = tracker.observe(5000.0, 0.0)
    b = tracker.observe(10.0, 1.0)
    e = entry(a, b)
    assert (e["joules"], e["reason"], e["resolution_limited"]) == (None, "counter_reset", False)
    c = tracker.observe(30.0, 2.0)
    assert entry(b, c)["joules"] == pytest.approx(20.0)  # later windows measure again


def test_short_window_without_counter_update_is_unknown_not_zero():
    e = entry(Sample(1.00, 50.0, 0), Sample(1.05, 50.0, 0))
    assert e == {"device": "dev", "joules": None, "method": "counter", "reason": None, "resolution_limited": True}


def test_short_window_with_update_is_given_and_flagged():
    e = entry(Sample(1.00, 50.0, 0), Sample(1.05, 62.5, 0))
    assert (e["joules"], e["resolution_limited"]) == (12.5, True)


def test_long_window_is_not_flagged():
    e = entry(Sample(1.0, 50.0, 0), Sample(3.0, 450.0, 0))
    assert (e["joules"], e["resolution_limited"], e["reason"]) == (400.0, False, None)


def test_failed_reading_reports_its_reason_and_no_joules():
    e = entry(Sample(1.0, 50.0, 0), Sample(3.0, None, 0, "device_lost"))
    assert (e["joules"], e["reason"]) == (None, "device_lost")


def test_trapezoid_integration_is_exact_for_a_ramp():
    integrator = PowerIntegrator()
    samples = [integrator.add(t / 10, 100.0 * t / 10) for t in range(0, 21)]  # 0..200 W over 2 s
    assert samples[-1].joules == pytest.approx(200.0)
    assert integrator.add(1.0, 999.0).joules == pytest.approx(200.0)  # out-of-order sample ignored


UUIDS = ["GPU-aaaa1111-0000", "GPU-bbbb2222-0000", "GPU-bbbc3333-0000"]


@pytest.mark.parametrize(
    "setting, expected",
    [
        (None, [0, 1, 2]),
        ("2,0", [2, 0]),
        ("1,1", [1]),
        ("", []),
        ("-1", []),
        ("0,7,1", [0]),  # CUDA stops at the first entry that names no device
        ("GPU-bbbb2222-0000", [1]),
        ("bbbc", [2]),  # unique prefix, without "GPU-"
        ("GPU-bbb,0", []),  # ambiguous prefix
        ("MIG-aaaa1111-0000", []),
        (" 2 , GPU-aaaa ", [2, 0]),
    ],
)
def test_visible_device_selection(setting, expected):
    assert select_visible(setting, UUIDS) == expected
