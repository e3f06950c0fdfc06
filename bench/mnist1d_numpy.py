"""Benchmark 7: one MNIST-1D epoch (protocol ``mnist1d``, GLE only), cpp_standalone against a
NumPy implementation of the same discrete scheme (docs/latent-equilibrium.md §2, §8): commit
(eps = phi' I_fb, s = W r + b, GLE error e = v + tau_m (eps - v)/tau_r, u_p = u + tau_r (s - u)
/tau_m, r = phi(u_p)) from the previous step's summed inputs, then the summed inputs (W r, W^T e,
the cross-entropy error beta (y* - softmax(r))), then forward Euler of u, v and continuous-time
Adam on the weights and biases. Written here from the equations; one network, batch 1.

Both sides are timed on a few hundred sequences and scaled to one epoch of the configuration
(training sequences with learning, test sequences without).
"""

import time

import numpy as np


def _phi(name, x):
    if name == "tanh":
        r = np.tanh(x)
        return r, 1.0 - r * r
    return x.copy(), np.ones_like(x)


class NumpyGLE:
    """The mnist1d network (GLE, transpose feedback, continuous-time Adam) as NumPy arrays.

    ``sizes``: layer sizes n_0 .. n_N; ``phis``: transfer function names of layers 1..N;
    ``tau_m``, ``tau_r``: per-layer arrays (seconds); ``dt`` (seconds); ``eta`` (Hz);
    ``tau1``, ``tau2`` (seconds): Adam moment time constants; ``beta``: dimensionless; ``W``,
    ``b``: initial weights and biases (default: drawn U(+-1/sqrt(fan_in)) from ``seed``)."""

    def __init__(self, sizes, phis, tau_m, tau_r, dt, eta, tau1, tau2, beta=1.0, seed=1,
                 W=None, b=None):
        rng = np.random.default_rng(seed)
        self.N, self.phis, self.dt, self.eta, self.beta = len(sizes) - 1, phis, dt, eta, beta
        self.tau1, self.tau2 = tau1, tau2
        self.tm, self.tr = [None] + list(tau_m), [None] + list(tau_r)
        self.W, self.b = [None], [None]
        for l in range(1, len(sizes)):
            k = 1.0 / np.sqrt(sizes[l - 1])
            self.W.append(rng.uniform(-k, k, (sizes[l], sizes[l - 1])))
            self.b.append(rng.uniform(-k, k, sizes[l]))
        if W is not None:  # given initial weights and biases (lists indexed by layer, [0] unused)
            self.W = [None] + [np.array(w, float) for w in W[1:]]
            self.b = [None] + [np.array(v, float) for v in b[1:]]
        z = lambda l: np.zeros(sizes[l])  # noqa: E731
        L = range(len(sizes))
        self.u, self.v, self.e, self.r, self.phip, self.I_ff, self.I_fb = (
            [z(l) for l in L] for _ in range(7))
        self.s = [z(l) for l in L]
        self.mW = [None] + [np.zeros_like(w) for w in self.W[1:]]
        self.vW = [None] + [np.zeros_like(w) for w in self.W[1:]]
        self.mb = [None] + [np.zeros_like(b) for b in self.b[1:]]
        self.vb = [None] + [np.zeros_like(b) for b in self.b[1:]]
        self.n = 0

    def step(self, x, label, learn=True):
        """One time step with input ``x`` (dimensionless) and target class ``label``."""
        N, dt = self.N, self.dt
        eps = [None] * (N + 1)
        self.r[0] = np.array([x])
        for l in range(1, N + 1):  # commit: previous step's summed inputs
            eps[l] = self.phip[l] * self.I_fb[l]
            self.s[l] = self.I_ff[l] + self.b[l]
            self.e[l] = self.v[l] + self.tm[l] * (eps[l] - self.v[l]) / self.tr[l]
            up = self.u[l] + self.tr[l] * (self.s[l] - self.u[l]) / self.tm[l]
            self.r[l], self.phip[l] = _phi(self.phis[l - 1], up)
        out = self.r[N]
        p = np.exp(out - out.max())
        p /= p.sum()
        y = np.zeros_like(out)
        y[int(label)] = 1.0
        for l in range(1, N + 1):  # summed variables
            self.I_ff[l] = self.W[l] @ self.r[l - 1]
            self.I_fb[l] = (self.W[l + 1].T @ self.e[l + 1]) if l < N else self.beta * (y - p)
        for l in range(1, N + 1):  # forward Euler
            self.u[l] += dt * (self.s[l] - self.u[l]) / self.tm[l]
            self.v[l] += dt * (eps[l] - self.v[l]) / self.tr[l]
        if learn:
            k = max(self.n, 1)  # moments updated n times so far (the schedule's count)
            self.n += 1
            c1 = 1 - (1 - dt / self.tau1) ** k
            c2 = 1 - (1 - dt / self.tau2) ** k
            for l in range(1, N + 1):
                for P, m, v, g in ((self.W, self.mW, self.vW, np.outer(self.e[l], self.r[l - 1])),
                                   (self.b, self.mb, self.vb, self.e[l])):
                    P[l] += dt * self.eta * (m[l] / c1) / (np.sqrt(v[l] / c2) + 1e-8)
                    m[l] += dt * (g - m[l]) / self.tau1
                    v[l] += dt * (g * g - v[l]) / self.tau2
        return out


def numpy_seconds_per_step(cfg, plan, n_seq, learn):
    """Wall seconds per step of `NumpyGLE` on ``n_seq`` sequences of ``plan`` (protocol
    ``mnist1d``)."""
    from brian2 import Hz, second

    tm = [r for r in plan.groups[0].replicas[0].tau_m[1:]]
    tr = [r for r in plan.groups[0].replicas[0].tau_r[1:]]
    phis = ["linear"] + ["tanh"] * (cfg.n_layers - 1) + ["linear"]
    net = NumpyGLE(plan.sizes, phis, tm, tr, plan.dt, float(cfg.model.eta / Hz),
                   float(cfg.model.tau_adam1 / second), float(cfg.model.tau_adam2 / second))
    steps = 0
    t0 = time.perf_counter()
    for j in range(n_seq):
        col = int(plan.order[0, j])
        for x in plan.seqs[:, col]:
            for _ in range(plan.steps_per_point):
                net.step(x, plan.labels[col], learn)
                steps += 1
    return (time.perf_counter() - t0) / steps


def run(quick=False):
    """One epoch's wall seconds, cpp_standalone (protocol mnist1d, GLE only) against NumPy."""
    from locallearn.protocol import run_protocol, make_config, get_protocol

    n_tr, n_te = (20, 10) if quick else (200, 50)
    ov = dict(methods="gle", n_train=str(n_tr), n_test=str(n_te), n_epochs="3")
    res = run_protocol("mnist1d", overrides=ov, device="cpp_standalone", report=False)
    full = make_config("mnist1d")
    steps_epoch = (full.n_train + full.n_test) * full.n_points * 5
    per_step_cpp = res.metrics["epoch_wall_s"] / ((n_tr + n_te) * full.n_points * 5)
    cfg = make_config("mnist1d", overrides=ov)
    plan = get_protocol("mnist1d").prepare(cfg, 1)
    k = 2 if quick else 10
    t_learn = numpy_seconds_per_step(cfg, plan, k, True)
    t_test = numpy_seconds_per_step(cfg, plan, max(1, k // 2), False)
    np_epoch = (full.n_train * t_learn + full.n_test * t_test) * full.n_points * 5
    cpp_epoch = per_step_cpp * steps_epoch
    return dict(title=f"7. mnist1d epoch (GLE, paper network 1-6x53-10, {full.n_train} + "
                      f"{full.n_test} sequences, {steps_epoch} steps; scaled from "
                      f"{n_tr} + {n_te})",
                rows=[dict(name="numpy (same scheme)", epoch_s=np_epoch,
                           us_per_step=np_epoch / steps_epoch * 1e6, speedup=1.0),
                      dict(name="cpp_standalone", epoch_s=cpp_epoch,
                           us_per_step=cpp_epoch / steps_epoch * 1e6,
                           speedup=np_epoch / cpp_epoch)],
                goal="side by side (no target)")
