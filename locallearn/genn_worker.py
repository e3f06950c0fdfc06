"""Worker process of the ``genn`` device (runs inside the GeNN environment, brian2 2.5.4).

Started by :func:`locallearn.genn.run_in_genn_env`; not meant to be run by hand::

    python -m locallearn.genn_worker --protocol NAME --config CONFIG.json --seed N \\
        --build-dir DIR --out RAW.npz (--cpu | --gpu) [--build-only] [--expect-root REPO]

It prepares the plan from the seed, activates brian2genn (`locallearn.devices.genn_session`),
builds the protocol's network with the protocol's own ``build``, runs it once, and writes what
``collect`` returns, plus the initial weights it drew (``_plan``) so that the parent can check
both environments drew the same ones, and ``RAW.npz.info.json`` (versions of the GeNN
environment, GeNN's version, CPU or GPU, build, binary wall and simulation times; with
``--build-only`` nothing runs and only this file is written). On failure it writes
``error.txt`` beside ``--out``:
``config<TAB>parameter<TAB>message`` for bad input, ``device<TAB>message`` otherwise, one line.
"""

import argparse
import json
import os
import sys
import time
import traceback

from locallearn.devices.genn import plan_arrays  # noqa: F401  (compared by the parent)


def _write_error(out, kind, *fields):
    text = "\t".join([kind] + [" ".join(str(f).split()) for f in fields])
    with open(os.path.join(os.path.dirname(os.path.abspath(out)), "error.txt"), "w") as fh:
        fh.write(text + "\n")


def _first_line(exc):
    original = getattr(exc, "original_error", None) or exc
    text = str(original).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(original).__name__}: {first}"


def versions(use_gpu):
    """Provenance of the GeNN environment (recorded in the run's ``config.json``)."""
    import brian2
    import brian2genn
    import numpy

    from locallearn.genn import genn_path, genn_version

    return dict(genn_brian2=brian2.__version__, genn_brian2genn=brian2genn.__version__,
                genn_numpy=numpy.__version__, genn_python=sys.version.split()[0],
                genn_version=genn_version(genn_path()), genn_use_gpu=bool(use_gpu))


def _time_binary(device, info):
    """Record the wall time of brian2genn's run of the compiled binary (``./main``: loading,
    initialisation, the simulation loop, writing results) in ``info['genn_binary_wall_s']``."""
    original = device.run

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            info["genn_binary_wall_s"] = time.perf_counter() - t0

    device.run = timed


def run(protocol, cfg_data, seed, build_dir, use_gpu, info=None, build_only=False):
    """Build, run and collect ``protocol`` on GeNN; returns the raw dict (None with
    ``build_only``: generate and compile, run nothing). ``info`` (a dict) receives the
    build-and-run, the binary's wall and the simulation loop's CPU times in seconds."""
    from locallearn import devices
    from locallearn.errors import ConfigError
    from locallearn.params import config_from_dict, validate_config
    from locallearn.protocol import get_protocol

    proto = get_protocol(protocol)
    if proto.execute is not None:
        raise ConfigError("device", f"protocol {protocol!r} runs several networks; the genn "
                          "device runs one network per process")
    cfg = validate_config(config_from_dict(proto.config_class, cfg_data))
    plan = proto.prepare(cfg, seed)
    info = {} if info is None else info
    with devices.genn_session(build_dir, use_gpu=use_gpu, build_only=build_only) as sim:
        from brian2 import get_device

        built = proto.build(cfg, plan)
        _time_binary(get_device(), info)
        t0 = time.perf_counter()
        sim.run(built.objects, built.duration, report=False)
        total = time.perf_counter() - t0
        if build_only:
            info.update(genn_build_s=total)
            print(f"genn worker: generated and compiled in {total:.1f} s (nothing run)",
                  flush=True)
            return None
        # brian2genn times the simulation loop with std::clock(): processor time of the host
        # process, not wall time (on a GPU the kernels' time is mostly not counted); the
        # binary's wall time (initialisation and writing results included) is measured here
        simulation = float(getattr(get_device(), "_last_run_time", float("nan")))
        print(f"genn worker: build and run took {total:.1f} s (wall), the binary "
              f"{info.get('genn_binary_wall_s', float('nan')):.1f} s (wall), its simulation "
              f"loop {simulation:.1f} s of host CPU time", flush=True)
        info.update(genn_build_and_run_s=total, genn_simulation_cpu_s=simulation)
        raw = proto.collect(cfg, plan, built)
    raw["_plan"] = plan_arrays(plan)
    return raw


def main(argv=None):
    p = argparse.ArgumentParser(prog="locallearn.genn_worker")
    p.add_argument("--protocol", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--out", required=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--cpu", dest="gpu", action="store_false")
    g.add_argument("--gpu", dest="gpu", action="store_true")
    p.add_argument("--build-only", action="store_true",
                   help="generate and compile the GeNN project, run nothing, write no arrays")
    p.add_argument("--expect-root", default=None,
                   help="the repository the parent runs from; refuse another checkout")
    args = p.parse_args(argv)
    try:
        import locallearn  # noqa: F401  (the package must import in this environment)
        from locallearn.errors import ConfigError
        from locallearn.genn import save_raw, REPO_ROOT
    except ImportError as exc:
        _write_error(args.out, "device", f"the GeNN environment cannot import locallearn "
                     f"({exc}); run 'make genn-env'")
        return 1
    if args.expect_root and os.path.realpath(args.expect_root) != os.path.realpath(REPO_ROOT):
        _write_error(args.out, "device", f"the GeNN environment imports locallearn from "
                     f"{REPO_ROOT}, not {args.expect_root}; run 'make genn-env' there")
        return 1
    try:
        import brian2genn  # noqa: F401
    except ImportError as exc:
        _write_error(args.out, "device", f"the GeNN environment lacks brian2genn ({exc}); "
                     "run 'make genn-env'")
        return 1
    with open(args.config) as fh:
        cfg_data = json.load(fh)
    info = versions(args.gpu)
    try:
        raw = run(args.protocol, cfg_data, args.seed, os.path.abspath(args.build_dir),
                  args.gpu, info, build_only=args.build_only)
    except ConfigError as exc:
        _write_error(args.out, "config", exc.parameter, str(exc).split(": ", 1)[-1]
                     if exc.parameter else str(exc))
        return 2
    except Exception as exc:  # a brian2genn refusal, a GeNN compile error, a failed run
        traceback.print_exc()
        _write_error(args.out, "device", _first_line(exc))
        return 1
    if raw is not None:
        save_raw(raw, args.out)
    with open(args.out + ".info.json", "w") as fh:
        json.dump(info, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
