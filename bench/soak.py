"""Long-run soak: the dynamics protocol in checkpointed segments for a wall-clock budget.

Reports the resident memory after every segment (it must stay flat: segment recordings go to
disk, not to memory) and the checkpoint overhead (time spent writing checkpoints against the
segment time). Not a CI test: ``python bench/soak.py [--minutes 30] [--segment 10]``.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def rss_mb():
    """Resident set size of this process in MiB (Linux /proc)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None):
    """Run the soak and print one line per segment plus a summary."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget")
    p.add_argument("--segment", type=float, default=10.0, help="simulated seconds per segment")
    p.add_argument("--device", default="cpp_standalone")
    args = p.parse_args(argv)

    from locallearn import execution
    from locallearn.protocol import run_protocol

    # estimate the simulated time that fills the budget from a short calibration segment rate
    per_sim_s = 0.25  # wall seconds per simulated second at N = 40 with references (measured)
    sim_total = max(3 * args.segment, args.minutes * 60 / per_sim_s)
    write_time = [0.0]
    original = execution.atomic_write_npz

    def timed_write(path, **arrays):
        t0 = time.perf_counter()
        original(path, **arrays)
        write_time[0] += time.perf_counter() - t0

    execution.atomic_write_npz = timed_write
    rows = []
    t_start = time.perf_counter()
    deadline = t_start + args.minutes * 60

    class Budget(Exception):
        pass

    def after(k, n):
        rows.append((k, time.perf_counter() - t_start, rss_mb(), write_time[0]))
        print(f"segment {k + 1}/{n}: wall {rows[-1][1]:8.1f} s  rss {rows[-1][2]:7.1f} MiB  "
              f"checkpoint writes {write_time[0]:6.2f} s", flush=True)
        if time.perf_counter() > deadline:
            raise Budget()

    out = tempfile.mkdtemp(prefix="locallearn-soak-")
    try:
        run_protocol("dynamics", quick=True, device=args.device, seed=1, report=False,
                     out=os.path.join(out, "run"), after_segment=after,
                     overrides=dict(duration=f"{sim_total}*second", t_test="1*second",
                                    fano_trials="0", probe_every="0*second",
                                    checkpoint_every=f"{args.segment}*second"))
    except Budget:
        pass
    finally:
        execution.atomic_write_npz = original
        shutil.rmtree(out, ignore_errors=True)
    if len(rows) >= 3:
        first, last = rows[1], rows[-1]  # skip segment 0 (includes the build)
        hours = (last[1] - first[1]) / 3600
        seg_wall = (last[1] - first[1]) / max(1, last[0] - first[0])
        print(f"\nsegments: {len(rows)}; wall per segment {seg_wall:.2f} s")
        print(f"memory: {first[2]:.1f} MiB after segment 2, {last[2]:.1f} MiB after segment "
              f"{last[0] + 1} ({(last[2] - first[2]) / max(hours, 1e-9):+.1f} MiB per hour)")
        print(f"checkpoint overhead: {100 * (last[3] - first[3]) / (last[1] - first[1]):.2f} % of "
              "wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
