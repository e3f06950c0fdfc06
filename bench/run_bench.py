"""Benchmarks of locallearn, each printing ratios measured side by side in one run.

1. devices: the balanced learner (dynamics protocol, N = 100, J = 2, dt = 0.1 ms, 10 s simulated,
   fast and slow rules on): simulation wall time on numpy and cython runtime, cpp_standalone with
   1 and 2 threads, and the vectorised NumPy loop of the same algorithm (`numpy_reference`).
   Goal: cpp_standalone >= 20x the NumPy reference.
2. scaling: cpp_standalone at N = 100, 300, 1000, 3000, the one-spike rule counted three ways
   (``wta_count`` summed, events and argmax, side by side, with the gain over summed): wall time per
   simulated second, and the same expressed as bytes per synapse per step at this machine's
   measured memory bandwidth, against the bytes the generated code must stream per synapse and
   step. Goal: within 3x of the bandwidth bound at N = 1000.
3. sweep: a 10-point compile-once sweep against (1 compile + 10 runs). Goal: at most 1.3x.
4. rate: the Fourier task's 50-30-1 rate network, cpp_standalone against a NumPy Euler loop.
   Goal: >= 5x.
5. genn: GeNN CPU against cpp_standalone (only where GENN_PATH is set).
6. overhead: ``run autoencoder --quick`` through the package against a bare Brian2 script of the
   same network (`bench_overhead`), whole processes in alternating pairs. Goal: <= 1.3x.
7. mnist1d: wall seconds per MNIST-1D epoch (paper network, GLE), cpp_standalone against a NumPy
   implementation of the same discrete scheme (`mnist1d_numpy`), side by side.

Times are medians of repeats (the machine is shared and noisy); compile times are reported
separately from simulation times. Run ``python -m locallearn bench [--quick] [--only NAME]``.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench.numpy_reference import balanced_learner  # noqa: E402

#: Bytes the generated code streams per synapse and step (documented estimate): slow rule
#: (read w_s 8, write w_s 8, pre and post index 4 + 4) + slow summed updater (read w_s 8, pre and
#: post index 4 + 4) = 40 per slow synapse; the winner-take-all summed updater reads two indices
#: (8) per synapse; the per-neuron gathers stay in cache up to N = 3000.
BYTES_PER_SLOW_SYNAPSE = 40
BYTES_PER_WTA_SYNAPSE = 8


def memory_bandwidth(size_mb=512, repeats=5):
    """Measured copy bandwidth (bytes/s): read + write of a large NumPy array, median."""
    a = np.ones(size_mb * 2 ** 20 // 8)
    b = np.empty_like(a)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(b, a)
        times.append(time.perf_counter() - t0)
    return 2 * a.nbytes / statistics.median(times)


def _dynamics_cfg(N, sim_s, extra=None):
    from locallearn.protocol import make_config

    ov = dict(N=str(N), t_before="0*second", t_fast="0*second",
              duration=f"{sim_s - 0.1}*second", t_test="0.1*second", fano_trials="0",
              probe_every="0*second", references="false", checkpoint_every="0*second",
              weights_dt="1*second")
    ov.update(extra or {})
    return make_config("dynamics", overrides=ov)


def time_device(cfg, device, threads=0, repeats=3, seed=1):
    """(build/compile seconds, median simulation seconds) of one protocol network."""
    from locallearn import devices
    from locallearn.protocol import get_protocol

    proto = get_protocol("dynamics")
    plan = proto.prepare(cfg, seed)
    with devices.session(device, seed=seed, threads=threads,
                         cache_key=f"bench-{device}-{threads}-{cfg.model.wta_count}") as sim:
        built = proto.build(cfg, plan)
        t0 = time.perf_counter()
        sim.prepare(built.objects, built.duration, report=False)  # timed: no progress report
        values = proto.rerun.run_args(cfg, plan, built)
        if device != "cpp_standalone":  # the first runtime run generates/compiles the code
            sim.run_point(values, seed=seed, report=False)
        build = time.perf_counter() - t0
        sims = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            sim.run_point(values, seed=seed, report=False)
            sims.append(time.perf_counter() - t0)
    return build, statistics.median(sims)


def bench_devices(quick=False):
    """Benchmark 1 (see module docstring)."""
    from brian2 import Hz

    sim_s = 2.0 if quick else 10.0
    cfg = _dynamics_cfg(100, sim_s)
    m = cfg.model
    rows = []
    steps = int(round(sim_s / 1e-4))
    from locallearn.models.spiking import feedforward_weights, command_sigma

    F = feedforward_weights(m.N, m.J)
    A = cfg.target_matrix()
    ref = [balanced_learner(F, A, float(m.lam / Hz), 1e-4, steps, float(m.K / Hz),
                            float(m.eta_s / Hz ** 2), m.eta_f, m.beta, m.mu,
                            command_sigma(A, 0.05, cfg.x_std), 0.05, seed=k)[0]
           for k in range(1 if quick else 3)]
    t_ref = statistics.median(ref)
    rows.append(dict(name="numpy reference loop", build_s=0.0, sim_s=t_ref))
    for device, threads, reps in (("numpy", 0, 1), ("cython", 0, 1), ("cpp_standalone", 0, 3),
                                  ("cpp_standalone", 2, 3)):
        build, simt = time_device(cfg, device, threads, repeats=1 if quick else reps)
        label = device + (f" ({threads} threads)" if threads else " (1 thread)"
                          if device == "cpp_standalone" else "")
        rows.append(dict(name=label, build_s=build, sim_s=simt))
    for r in rows:
        r["speedup_vs_numpy_reference"] = t_ref / r["sim_s"]
        r["sim_s_per_simulated_s"] = r["sim_s"] / sim_s
    return dict(title=f"1. balanced learner N=100, J=2, dt=0.1 ms, {sim_s:g} s simulated",
                rows=rows, goal="cpp_standalone >= 20x the NumPy reference")


def bench_scaling(quick=False):
    """Benchmark 2 (see module docstring): the three ways of counting the one-spike rule, side
    by side at each N (``wta_count`` summed: all N (N - 1) pairs every step; events: rows of the
    neurons above threshold only; argmax: one pass over the neurons)."""
    bw = memory_bandwidth()
    rows = []
    sizes = (100, 300, 1000) if quick else (100, 300, 1000, 3000)
    for N in sizes:
        sim_s = max(0.2, min(10.0, 2e6 / N ** 2 * 0.1))  # keep each run short
        summed_s = None
        for count in ("summed", "events", "argmax"):
            cfg = _dynamics_cfg(N, sim_s, dict(wta_count=count))
            build, simt = time_device(cfg, "cpp_standalone", repeats=1 if quick else 3)
            steps = sim_s / 1e-4
            n_slow, n_wta = N * N, N * (N - 1)
            per_step = simt / steps
            # events: about one row (N) per step; argmax: 3 N; summed: the N (N - 1) pairs
            wta_bytes = BYTES_PER_WTA_SYNAPSE * {"summed": n_wta, "events": N,
                                                 "argmax": 3 * N}[count]
            need = BYTES_PER_SLOW_SYNAPSE * n_slow + wta_bytes
            bound = need / bw
            summed_s = simt if count == "summed" else summed_s
            rows.append(dict(N=N, wta_count=count, simulated_s=sim_s, build_s=build,
                             s_per_simulated_s=simt / sim_s,
                             gain_vs_summed=summed_s / simt,
                             bytes_per_synapse_step_at_bandwidth=per_step * bw / n_slow,
                             bytes_per_synapse_step_needed=need / n_slow,
                             ratio_to_bandwidth_bound=per_step / bound))
    return dict(title=f"2. scaling in N (cpp_standalone), one-spike rule summed / events / "
                      f"argmax; "
                      f"memory bandwidth {bw / 1e9:.1f} GB/s",
                rows=rows, goal="within 3x of the bandwidth bound at N = 1000; events and "
                                "argmax faster than summed")


def bench_sweep(quick=False):
    """Benchmark 3 (see module docstring)."""
    import shutil
    import tempfile

    from locallearn.sweep import run_sweep

    sim_s = 1.0 if quick else 5.0
    cfg = _dynamics_cfg(40, sim_s)
    sets = dict(N="40", t_before="0*second", t_fast="0*second",
                duration=f"{sim_s - 0.1}*second", t_test="0.1*second", fano_trials="0",
                probe_every="0*second", references="false", checkpoint_every="0*second",
                weights_dt="1*second")
    # both sides compile from scratch: a fresh build cache, one slot each
    cache = tempfile.mkdtemp(prefix="locallearn-bench-cache-")
    out = tempfile.mkdtemp(prefix="locallearn-bench-sweep-")
    saved_cache = os.environ.get("LOCALLEARN_BUILD_CACHE")
    os.environ["LOCALLEARN_BUILD_CACHE"] = cache
    try:
        build, simt = time_device(cfg, "cpp_standalone", repeats=3)
        t0 = time.perf_counter()
        run_sweep("dynamics", ["eta_s=" + ",".join(f"{v:g}*Hz^2" for v in np.linspace(1, 10, 10))],
                  os.path.join(out, "sweep"), sets=sets, progress=False)
        total = time.perf_counter() - t0
    finally:
        for path in (out, cache):
            shutil.rmtree(path, ignore_errors=True)
        if saved_cache is None:
            os.environ.pop("LOCALLEARN_BUILD_CACHE", None)
        else:
            os.environ["LOCALLEARN_BUILD_CACHE"] = saved_cache
    ideal = build + 10 * simt
    return dict(title=f"3. 10-point sweep (dynamics N=40, {sim_s:g} s simulated per point)",
                rows=[dict(name="1 compile + 10 runs (measured separately)", total_s=ideal,
                          compile_s=build, run_s=simt),
                      dict(name="sweep (compile once, analysis and saving included)",
                           total_s=total, ratio=total / ideal)],
                goal="at most 1.3x")


def bench_rate(quick=False):
    """Benchmark 4: provided by the rate-network protocols when they are installed."""
    try:
        from bench import bench_rate as mod
    except ImportError:
        return dict(title="4. rate network (Fourier 50-30-1)", rows=[],
                    goal="not available in this checkout")
    return mod.run(quick)


def bench_genn(quick=False):
    """Benchmark 5: GeNN CPU against cpp_standalone where GENN_PATH is set."""
    if not os.environ.get("GENN_PATH"):
        return dict(title="5. GeNN", rows=[], goal="skipped: GENN_PATH is not set")
    try:
        from bench import bench_genn as mod
    except ImportError:
        return dict(title="5. GeNN", rows=[], goal="not available in this checkout")
    return mod.run(quick)


def bench_overhead(quick=False):
    """Benchmark 6: the package against a bare Brian2 script (see `bench.bench_overhead`)."""
    from bench import bench_overhead as mod

    return mod.run(quick)


def bench_mnist1d(quick=False):
    """Benchmark 7: one MNIST-1D epoch, cpp_standalone against NumPy (`mnist1d_numpy`)."""
    try:
        import mnist1d  # noqa: F401
    except ImportError:
        return dict(title="7. mnist1d epoch", rows=[], goal="skipped: pip install mnist1d")
    from bench import mnist1d_numpy as mod

    return mod.run(quick)


BENCHES = dict(devices=bench_devices, scaling=bench_scaling, sweep=bench_sweep, rate=bench_rate,
               genn=bench_genn, overhead=bench_overhead, mnist1d=bench_mnist1d)


def format_table(result):
    """Plain-text table of one benchmark result."""
    lines = [result["title"], f"   goal: {result['goal']}"]
    rows = result["rows"]
    if rows:
        cols = list(rows[0].keys())
        for r in rows[1:]:
            cols += [c for c in r if c not in cols]
        fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
        width = {c: max(len(c), *(len(fmt(r.get(c, ""))) for r in rows)) for c in cols}
        lines.append("   " + "  ".join(c.ljust(width[c]) for c in cols))
        for r in rows:
            lines.append("   " + "  ".join(fmt(r.get(c, "")).ljust(width[c]) for c in cols))
    return "\n".join(lines)


def main(argv=None):
    """Run the selected benchmarks, print their tables, write results/bench/bench.json."""
    p = argparse.ArgumentParser(prog="locallearn bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="shorter simulations, fewer repeats")
    p.add_argument("--only", nargs="*", choices=list(BENCHES), help="run only these")
    p.add_argument("--out", default=os.path.join("results", "bench"))
    args = p.parse_args(argv)
    from locallearn.devices import quiet_brian

    quiet_brian()
    names = args.only or list(BENCHES)
    info = dict(date=time.strftime("%Y-%m-%d"), machine=platform.platform(),
                cpus=os.cpu_count(), python=platform.python_version())
    print(f"locallearn benchmarks, {info['date']}, {info['machine']}, {info['cpus']} CPUs")
    out = dict(info=info, results={})
    failed = 0
    for name in names:
        try:
            res = BENCHES[name](args.quick)
        except Exception as exc:  # one failing benchmark must not hide the others' results
            failed += 1
            res = dict(title=name, rows=[], goal=f"FAILED: {type(exc).__name__}: {exc}")
        out["results"][name] = res
        print(format_table(res), flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench.json"), "w") as fh:
        json.dump(out, fh, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
