"""Benchmark 4: the LE Fourier network (50 -> 30 tanh -> 1, docs/latent-equilibrium.md §3b),
cpp_standalone against a NumPy Euler loop of the same learning dynamics (LE: tau_m = tau_r, so
the prospective potential is s + gamma e and the error is instantaneous; one step of delay per
layer as in the model)."""

import statistics
import time

import numpy as np


def numpy_le_loop(steps, dt, tau, eta, beta, gamma, n_in=50, n_hid=30, seed=1):
    """Euler loop of LE learning on the Fourier task; returns wall seconds."""
    rng = np.random.default_rng(seed)
    W1 = rng.uniform(-1, 1, (n_hid, n_in)) / np.sqrt(n_in)
    b1 = rng.uniform(-1, 1, n_hid) / np.sqrt(n_in)
    W2 = rng.uniform(-1, 1, (1, n_hid)) / np.sqrt(n_hid)
    b2 = rng.uniform(-1, 1, 1) / np.sqrt(n_hid)
    freqs = 2 * np.pi * 10.0 * np.arange(1, n_in + 1)
    u1, u2 = np.zeros(n_hid), np.zeros(1)
    r0p, r1p, e1, e2 = np.zeros(n_in), np.zeros(n_hid), np.zeros(n_hid), np.zeros(1)
    t0 = time.perf_counter()
    for n in range(steps):
        t = n * dt
        r0 = np.sin(freqs * t)
        y = 2 * ((t / 0.05) % 1.0) - 1
        s1 = W1 @ r0p + b1
        s2 = W2 @ r1p + b2
        up1 = s1 + gamma * e1
        up2 = s2 + gamma * e2
        u1 += dt / tau * (up1 - u1)
        u2 += dt / tau * (up2 - u2)
        r1 = np.tanh(up1)
        r2 = up2
        e2 = beta * (y - r2)
        e1 = (1 - r1 ** 2) * (W2.T @ e2)
        W2 += eta * dt * np.outer(e2, r1p)
        b2 += eta * dt * e2
        W1 += eta * dt * np.outer(e1, r0p)
        b1 += eta * dt * e1
        r0p, r1p = r0, r1
    return time.perf_counter() - t0


def run(quick=False):
    """Measure both side by side; returns the benchmark table."""
    from brian2 import device, second

    from locallearn import devices
    from locallearn.protocol import get_protocol, make_config
    from locallearn.protocols.fourier import build, collect

    ov = dict(le_t_train="100*ms", le_t_test="50*ms") if quick else {}
    cfg = make_config("fourier", overrides=ov)
    proto = get_protocol("fourier")
    plan = proto.prepare(cfg, 1)
    dt = float(cfg.le_dt / second)
    sim_s = float((cfg.le_t_train + cfg.le_t_test) / second)
    steps = int(round(sim_s / dt))
    sims, builds = [], []
    for k in range(1 if quick else 3):
        with devices.session("cpp_standalone", seed=1, cache_key="bench-fourier-le") as sim:
            built = build(cfg, plan)
            t0 = time.perf_counter()
            sim.run(built.objects, built.duration, report=False)
            builds.append(time.perf_counter() - t0 - device.timers["run_binary"])
            sims.append(device.timers["run_binary"])
            collect(cfg, plan, built)
    t_cpp = statistics.median(sims)
    t_np = statistics.median(numpy_le_loop(steps, dt, 0.01, 250.0, 0.1, 1.0, seed=k)
                             for k in range(1 if quick else 3))
    return dict(title=f"4. rate network, LE Fourier 50-30-1, {steps} steps ({sim_s * 1e3:g} ms "
                      f"at dt = {dt * 1e6:g} us)",
                rows=[dict(name="numpy Euler loop", sim_s=t_np, speedup=1.0),
                      dict(name="cpp_standalone", build_s=min(builds), sim_s=t_cpp,
                           speedup=t_np / t_cpp)],
                goal="cpp_standalone >= 5x the NumPy loop")
