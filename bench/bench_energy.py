"""Energy backends on real hardware: counter update interval, counter vs integrated power, sampler cost.

    python bench/bench_energy.py [--seconds 10] [--hz 10]

Prints "unavailable: <reason>" and exits 0 on a machine with nothing to measure.
The load is a CUDA matmul loop when PyTorch sees a GPU, otherwise a busy CPU loop.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nbprov.energy import open_meter  # noqa: E402
from nbprov.energy.amd import open_amd  # noqa: E402
from nbprov.energy.core import DeviceError, Discovery, EnergyDevice, PowerIntegrator  # noqa: E402
from nbprov.energy.nvml import open_nvml  # noqa: E402
from nbprov.energy.rapl import open_rapl  # noqa: E402


def counter_update_interval(device: EnergyDevice, seconds: float) -> float | None:
    """Median time between changes of the raw counter, polled as fast as possible."""
    changes = []
    last = device.read_energy_j()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        value = device.read_energy_j()
        if value != last:
            changes.append(time.perf_counter())
            last = value
    gaps = [b - a for a, b in zip(changes, changes[1:], strict=False)]
    return statistics.median(gaps) if gaps else None


def gpu_load() -> Callable[[threading.Event], None] | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None

    def run(stop: threading.Event) -> None:
        a = torch.randn(8192, 8192, device="cuda")
        while not stop.is_set():
            for _ in range(10):
                a = (a @ a).tanh_()
            torch.cuda.synchronize()

    return run


def cpu_load(stop: threading.Event) -> None:
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1_000_003


def compare_under_load(seconds: float, hz: float) -> None:
    load = gpu_load()
    print(f"\nload: {'CUDA matmul (torch)' if load else 'busy CPU loop'} for {seconds:.0f} s")
    stop = threading.Event()
    worker = threading.Thread(target=load or cpu_load, args=(stop,), daemon=True)
    meter = open_meter()
    integrators: dict[str, PowerIntegrator] = {}
    integrated_j: dict[str, float] = {}

    def on_power(device: str, t_ms: int, watts: float) -> None:  # runs on the sampler thread only
        sample = integrators.setdefault(device, PowerIntegrator()).add(t_ms / 1000, watts)
        integrated_j[device] = sample.joules or 0.0

    worker.start()
    time.sleep(1.0)  # let the load (and a 1 s power average) settle
    start = meter.read()
    meter.start_sampler(on_power, hz)
    time.sleep(seconds)
    meter.stop_sampler()
    end = meter.read()
    stop.set()
    worker.join()
    for entry in meter.between(start, end):
        integrated = integrated_j.get(entry["device"])
        line = f"  {entry['device']}: {entry['method']} "
        if entry["joules"] is None:
            line += f"unavailable ({entry['reason']})"
        else:
            line += f"{entry['joules']:.1f} J = {entry['joules'] / (end.t - start.t):.1f} W mean"
        if integrated is not None:
            line += f"; sampled power integrated: {integrated:.1f} J"
            if entry["joules"]:
                line += f" ({(integrated / entry['joules'] - 1) * 100:+.1f} %)"
        print(line)
    meter.close()


def sampler_overhead(hz: float, steps: int = 200_000, repeats: int = 5) -> None:
    """Time a Python step loop (a training loop's bookkeeping) with and without the sampler."""

    def step_loop() -> float:
        started = time.perf_counter()
        total = 0.0
        for i in range(steps):
            total += (i % 7) * 0.5
        return time.perf_counter() - started

    meter = open_meter()
    baseline = min(step_loop() for _ in range(repeats))
    meter.start_sampler(lambda device, t_ms, watts: None, hz)
    sampled = min(step_loop() for _ in range(repeats))
    meter.stop_sampler()
    reads = []
    for _ in range(200):
        started = time.perf_counter()
        meter.read()
        reads.append(time.perf_counter() - started)
    meter.close()
    print(
        f"\nsampler at {hz:g} Hz: step loop {baseline * 1e3:.1f} ms alone, {sampled * 1e3:.1f} ms sampled "
        f"({(sampled / baseline - 1) * 100:+.1f} %); meter.read() median {statistics.median(reads) * 1e6:.0f} µs"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the loaded window")
    parser.add_argument("--hz", type=float, default=10.0, help="sampler rate")
    args = parser.parse_args()
    if args.seconds <= 0 or args.hz <= 0:
        parser.error("--seconds and --hz must be positive")

    discoveries: list[Discovery] = [open_nvml(), open_amd(), open_rapl()]
    devices = [device for found in discoveries for device in found.devices]
    if not any(device.method is not None for device in devices):
        for found in discoveries:
            found.close()
        meter = open_meter()
        reading = meter.read()
        reasons = sorted({entry["reason"] or "not_supported" for entry in meter.between(reading, reading)})
        meter.close()
        details = ", ".join(f"{found.backend}: {found.reason}" for found in discoveries if found.reason)
        print(f"unavailable: {'/'.join(reasons)} ({details or 'no measurable device'})")
        return 0

    print("counter update interval (median, polled for 2 s):")
    for device in devices:
        if device.method != "counter":
            print(f"  {device.name}: {device.method or 'not measurable'}")
            continue
        try:
            interval = counter_update_interval(device, 2.0)
        except DeviceError as error:
            print(f"  {device.name}: unavailable ({error.reason})")
            continue
        declared = f"declared {device.update_interval_s * 1e3:g} ms"
        measured = f"{interval * 1e3:.2f} ms" if interval else "no change seen"
        print(f"  {device.name}: {measured} ({declared})")
    for found in discoveries:
        found.close()

    compare_under_load(args.seconds, args.hz)
    sampler_overhead(args.hz)
    return 0


if __name__ == "__main__":
    sys.exit(main())
