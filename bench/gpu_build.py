"""Generate and compile one protocol's network for a GPU device without running it.

    python bench/gpu_build.py PROTOCOL [--quick] [--set KEY=VALUE ...] [--device cuda]
        [--arch 9.0] [--build-dir DIR]

Run with the device's environment (``.venv-cuda/bin/python`` for ``cuda``). The network is
built exactly as a run builds it (validation, ``prepare``, the protocol's ``build``), then the
device generates the project and nvcc compiles it for compute capability ``--arch`` (GPU
detection off, so no GPU is needed); nothing runs. Prints one JSON line: device, protocol, arch,
seconds and the build directory. Exit status 0 on success, 1 with the compiler's last lines.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def build_only(protocol, device="cuda", quick=True, overrides=None, arch="9.0", build_dir=None,
               seed=1):
    """Build (generate + compile, no run) ``protocol`` on ``device``; returns seconds."""
    from locallearn import devices
    from locallearn.protocol import get_protocol, make_config

    os.environ["LOCALLEARN_CUDA_ARCH"] = str(arch)
    proto = get_protocol(protocol)
    cfg = make_config(proto, quick=quick, overrides=overrides or {})
    plan = proto.prepare(cfg, seed)
    t0 = time.perf_counter()
    with devices.session(device, seed=seed, build_dir=build_dir) as sim:
        built = proto.build(cfg, plan)
        sim.prepare(built.objects, built.duration)  # standalone: generate and compile, no run
    return time.perf_counter() - t0


def main(argv=None):
    """Command line (see module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("protocol")
    p.add_argument("--device", default="cuda")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--arch", default="9.0")
    p.add_argument("--build-dir", required=True)
    args = p.parse_args(argv)
    overrides = dict(s.split("=", 1) for s in args.set)
    args.build_dir = os.path.abspath(args.build_dir)
    os.makedirs(args.build_dir, exist_ok=True)
    secs = build_only(args.protocol, args.device, args.quick, overrides, args.arch,
                      args.build_dir)
    print(json.dumps(dict(device=args.device, protocol=args.protocol, arch=args.arch,
                          build_s=round(secs, 1), build_dir=args.build_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
