"""A process the notebook launches inside a run (tests/test_ranks.py): logs into it as one rank.

    python rank_child.py POINTS [--fail] [--fake-gpu BUS_ID] [--host NAME]

With ``--fake-gpu`` the process measures a fake NVIDIA GPU (tests/fakes) at that PCI bus id that
draws 200 W for 10 virtual seconds while the rank runs: every process given the same bus id (and
host) measures the same physical device."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

parser = argparse.ArgumentParser()
parser.add_argument("points", type=int)
parser.add_argument("--fail", action="store_true")
parser.add_argument("--fake-gpu")
parser.add_argument("--host")
options = parser.parse_args()

if options.host:
    socket.gethostname = lambda: options.host  # a rank on another node
clock = None
if options.fake_gpu:
    # The meter is chosen before nbprov joins the run: take the hand-over out of the way until then.
    handed_over = os.environ.pop("NBPROV_RUN")
    from fakes.energy import FakeNvidiaGpu, FakeNvml, PowerTrace, VirtualClock

    import nbprov.energy

    clock = VirtualClock()
    gpu = FakeNvidiaGpu("GPU-shared", options.fake_gpu, PowerTrace([(0.0, 200.0)]), clock)
    nbprov.energy.open_meter = lambda: nbprov.energy.meter.open_meter(
        nvml=FakeNvml([gpu]), powercap_root=Path("/nonexistent"), environ={}, clock=clock, wall_ms=clock.wall_ms
    )
    os.environ["NBPROV_RUN"] = handed_over
    os.environ["NBPROV_ENERGY"] = "1"
    nbprov.attach()

import nbprov  # noqa: E402  (joins the run named by NBPROV_RUN: the whole point of this script)

for step in range(options.points):
    nbprov.log_metric("loss", 1.0 / (step + 1), step=step)
nbprov.log_param("seed", 7)
with nbprov.active_run().context("validation"):
    nbprov.log_metric("acc", 0.5)
if clock is not None:
    clock.advance(10.0)
if options.fail:
    raise RuntimeError("rank failed on purpose")
print("child done", nbprov.active_run().id)
