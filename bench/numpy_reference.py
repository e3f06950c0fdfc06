"""Vectorised NumPy reference of the balanced learner (§4).

The same discrete-time algorithm the Brian2 model integrates (forward Euler, winner-take-all
with the previous step's excess, fast rule with the pre-jump voltage, slow rule every step), as
a plain loop over time steps with NumPy arrays: the baseline for the speed benchmark.

Sections cited as §N are those of ``docs/balanced-spiking.md``.
"""

import time

import numpy as np


def balanced_learner(F, A, lam, dt, steps, K, eta_s, eta_f, beta, mu, sigma_c, tau_c,
                     sigma_V=0.01, W_fast=None, seed=1):
    """Run ``steps`` Euler steps; returns (wall seconds, spike count, final W_fast, W_slow).

    Units as in the Brian2 model: lam, K, A, sigma_c in Hz; eta_s in Hz^2; dt, tau_c in s.
    """
    rng = np.random.default_rng(seed)
    N, J = F.shape
    T = (np.sum(F ** 2, axis=1) + mu) / 2
    Wf = -(F @ F.T + mu * np.eye(N)) if W_fast is None else W_fast.copy()
    Ws = np.zeros((N, N))
    V = np.zeros(N)
    r = np.zeros(N)
    x = np.zeros(J)
    c = np.zeros(J)
    decay = 1.0 - lam * dt
    noise_V = sigma_V * np.sqrt(2 * lam * dt)
    noise_c = sigma_c * np.sqrt(2 / tau_c * dt)
    spikes = 0
    t0 = time.perf_counter()
    for _ in range(steps):
        # summed variables from the state at the start of the step (Brian2's "groups" slot)
        Fe = F @ (x - F.T @ r)
        k = int(np.argmax(V - T))  # winner-take-all on the start-of-step excess
        current = F @ c + Ws @ r + K * Fe
        Ws += (eta_s * dt) * np.outer(Fe, r)  # slow rule (clock-driven, start-of-step values)
        # forward Euler of V, r, c, x from start-of-step values
        x = x + dt * (A @ x + c)
        c = c - dt * c / tau_c + noise_c * rng.standard_normal(J)
        V = decay * V + dt * current + noise_V * rng.standard_normal(N)
        r = decay * r
        if V[k] > T[k]:  # threshold, then the fast rule with the pre-jump V, then the reset
            col = Wf[:, k]
            col -= eta_f * (V + beta * col)
            V += col
            r[k] += 1.0
            spikes += 1
    return time.perf_counter() - t0, spikes, Wf, Ws
