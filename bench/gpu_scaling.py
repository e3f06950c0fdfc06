"""Time the balanced learner (dynamics protocol) at one size on one device, for bench/gpu_check.sh.

    python bench/gpu_scaling.py --device cpp_standalone|cuda --N 1000 --sim 0.2 [--threads T]
        [--wta-count summed|events]

Builds once (generation + compile, timed apart), then runs the compiled network once and
prints one JSON line: device, N, simulated seconds, build seconds, wall seconds of the run, wall
seconds per simulated second and the bytes per step the slow and one-spike pathways must stream
(``run_bench`` estimate), so the caller can compare with a memory-bandwidth bound.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def main(argv=None):
    """Command line (see module docstring)."""
    from bench.run_bench import BYTES_PER_SLOW_SYNAPSE, BYTES_PER_WTA_SYNAPSE, _dynamics_cfg
    from locallearn import devices
    from locallearn.devices import quiet_brian
    from locallearn.protocol import get_protocol

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpp_standalone")
    p.add_argument("--N", type=int, required=True)
    p.add_argument("--sim", type=float, default=0.2, help="simulated seconds (>= 0.2)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--wta-count", default="argmax")
    args = p.parse_args(argv)
    quiet_brian()
    cfg = _dynamics_cfg(args.N, args.sim, dict(wta_count=args.wta_count))
    proto = get_protocol("dynamics")
    plan = proto.prepare(cfg, 1)
    with devices.session(args.device, seed=1, threads=args.threads) as sim:
        built = proto.build(cfg, plan)
        t0 = time.perf_counter()
        sim.prepare(built.objects, built.duration, report=False)  # generate and compile
        build = time.perf_counter() - t0
        from brian2 import device

        t0 = time.perf_counter()
        device.run(directory=sim.build_dir, with_output=False)
        wall = time.perf_counter() - t0
    N = args.N
    wta = {"summed": N * (N - 1), "events": N, "argmax": 3 * N}[args.wta_count]
    need = BYTES_PER_SLOW_SYNAPSE * N * N + BYTES_PER_WTA_SYNAPSE * wta
    print(json.dumps(dict(device=args.device, N=N, threads=args.threads,
                          wta_count=args.wta_count, simulated_s=args.sim,
                          build_s=round(build, 2), run_s=round(wall, 3),
                          s_per_simulated_s=round(wall / args.sim, 3),
                          bytes_per_step=need, steps=int(round(args.sim / 1e-4)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
