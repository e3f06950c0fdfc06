"""The exact adjoint (continuous-time BPTT) of the prospective rate network, from recorded
forward trajectories (docs/latent-equilibrium.md §1.5). Pure NumPy/SciPy; no Brian2.

The discretised system (the scheme of `locallearn.models.rate`, §2; gamma = 0, or the
nudging gamma e treated as an external input): for layers l = 1..N and steps n = 0..T-1,

    s_l^n   = W_l r_{l-1}^{n-1} + b_l            (one step of delay per layer; r^{-1} = 0)
    u_p^n   = u_l^n + (tau_r/tau_m)(s_l^n - u_l^n)   (prospective potential, §1.2)
    r_l^n   = phi(u_p^n)
    u_l^n+1 = u_l^n + (dt/tau_m)(s_l^n - u_l^n)  (forward Euler)
    r_0^n   = x(t_n)

with loss L = sum_n dt mask^n C(r_N^n, y^n). Its exact reverse-mode derivative is, with
delta^n = phi'(u_p^n) dL/dr^n and a^n = dL/du^n,

    a^n    = (1 - tau_r/tau_m) delta^n + (1 - dt/tau_m) a^{n+1},       a^T = 0
    sbar^n = (tau_r/tau_m) delta^n + (dt/tau_m) a^{n+1}               (= dL/ds^n)
    dL/dW_l    = sum_n sbar_l^n (r_{l-1}^{n-1})^T,   dL/db_l = sum_n sbar_l^n
    dL/dtau_m  = -sum_n sbar^n (s^n - u^n)/tau_m
    dL/dr_{l-1}^{n-1} += W_l^T sbar_l^n

In the limit dt -> 0, lambda = -sbar/dt obeys §1.5's
tau_m dlambda/dt = lambda - (delta - tau_r ddelta/dt) backwards in time with lambda(T) =
(tau_r/tau_m) delta(T) (here: sbar at the last step is (tau_r/tau_m) delta), i.e.
lambda = I+_tau_m D-_tau_r[delta]: the time-reversed adjoint of the forward filter
K = D+_tau_r I-_tau_m. Because the recursion is the exact derivative of the Euler scheme, it
matches finite differences of the discretised system to rounding error (tests/test_rate_adjoint).

Conventions: layer lists are indexed 0..N; entries that do not exist (W[0], phip[0], ...) are
None. Time runs along axis 0. Time constants and dt are plain floats in seconds.
"""

import numpy as np

from .filters import leaky_reverse

__all__ = ["PHI", "simulate_forward", "mse_loss", "adjoint_gradients", "cosine",
           "gle_adjoint_gain_ratio", "local_gradient", "window_alignment", "flatten"]


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


#: Transfer functions and derivatives (same names as `locallearn.models.rate.PHI`).
PHI = {
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "softplus": (_softplus, _sigmoid),
    "linear": (lambda x: x, lambda x: np.ones_like(x)),
}


def simulate_forward(x, W, b, tau_m, tau_r, phis, dt, u0=None, I0=None):
    """Run the discretised network with fixed parameters (the scheme above).

    Parameters
    ----------
    x : array (T, n_0)
        Input rates r_0^n.
    W, b : lists indexed 0..N (W[l]: (n_l, n_{l-1}), b[l]: (n_l,)); entry 0 unused.
    tau_m, tau_r : lists indexed 0..N of arrays (n_l,) in seconds.
    phis : list indexed 0..N of transfer-function names (entry 0 unused).
    dt : float, seconds.
    u0, I0 : optional lists of initial membranes and summed inputs (default zeros).

    Returns
    -------
    dict with lists indexed 0..N of arrays (T, n_l): ``r`` (r[0] = x), ``phip``, ``s``, ``u``
    (u^n before the step's update) and ``up`` (prospective potentials).
    """
    x = np.asarray(x, float)
    T = x.shape[0]
    N = len(W) - 1
    sizes = [x.shape[1]] + [np.asarray(W[l]).shape[0] for l in range(1, N + 1)]
    u = [None] + [np.zeros(sizes[l]) if u0 is None else np.array(u0[l], float)
                  for l in range(1, N + 1)]
    I = [None] + [np.zeros(sizes[l]) if I0 is None else np.array(I0[l], float)
                  for l in range(1, N + 1)]
    out = {k: [x if k == "r" else None] + [np.zeros((T, sizes[l])) for l in range(1, N + 1)]
           for k in ("r", "phip", "s", "u", "up")}
    for n in range(T):
        for l in range(1, N + 1):
            tm, tr = np.asarray(tau_m[l], float), np.asarray(tau_r[l], float)
            s = I[l] + b[l]
            up = u[l] + tr * (s - u[l]) / tm
            f, df = PHI[phis[l]]
            out["r"][l][n] = f(up)
            out["phip"][l][n] = df(up)
            out["s"][l][n] = s
            out["u"][l][n] = u[l]
            out["up"][l][n] = up
            u[l] = u[l] + dt * (s - u[l]) / tm
        for l in range(1, N + 1):
            I[l] = np.asarray(W[l], float) @ out["r"][l - 1][n]
    return out


def mse_loss(r_out, y, dt, mask=None):
    """L = sum_n dt mask^n (1/2) ``|r^n - y^n|^2`` and dL/dr (same shape as ``r_out``)."""
    r_out = np.asarray(r_out, float)
    diff = r_out - np.asarray(y, float).reshape(r_out.shape)
    m = np.ones(r_out.shape[0]) if mask is None else np.asarray(mask, float).reshape(-1)
    L = 0.5 * dt * float(np.sum(m[:, None] * diff ** 2))
    return L, dt * m[:, None] * diff


def _reverse_filter(delta, a, c):
    """a^n = a delta^n + c a^{n+1} (a^T = 0), per column with coefficients a, c (arrays)."""
    return leaky_reverse(delta, c, a)


def adjoint_gradients(r, phip, W, tau_m, tau_r, dt, dL_dr, s=None, u=None, r_prev=None):
    """Exact gradients of L w.r.t. W, b (and tau_m when ``s`` and ``u`` are given).

    Parameters
    ----------
    r : list 0..N of arrays (T, n_l)
        Rates r_l^n (r[0]: input), as recorded (committed values of each step).
    phip : list 0..N (entry 0 None) of arrays (T, n_l)
        phi'(u_p^n).
    W : list 0..N of weight matrices (held fixed over the window).
    tau_m, tau_r : lists 0..N of arrays (n_l,), seconds.
    dt : float, seconds.
    dL_dr : array (T, n_N)
        Explicit dL/dr_N^n (e.g. from `mse_loss`).
    s, u : optional lists 0..N of arrays (T, n_l): inputs s^n and membranes u^n (for tau_m).
    r_prev : optional list 0..N of arrays (n_l,): rates one step before the window (so that the
        first step's input W r^{-1} also counts); default: zeros.

    Returns
    -------
    dict with lists 0..N: ``W`` (dL/dW_l), ``b`` (dL/db_l), ``lam`` (-dL/ds / dt, the adjoint
    error density lambda of §1.5) and, when possible, ``tau_m`` (dL/dtau_m,l).
    """
    N = len(W) - 1
    T = r[0].shape[0]
    g_r = [None] * (N + 1)
    g_r[N] = np.array(dL_dr, float).reshape(T, -1)
    out = {k: [None] * (N + 1) for k in ("W", "b", "lam", "tau_m")}
    for l in range(N, 0, -1):
        tm = np.asarray(tau_m[l], float)
        tr = np.asarray(tau_r[l], float)
        delta = phip[l] * g_r[l]
        a_next = np.zeros_like(delta)
        a_all = _reverse_filter(delta, 1.0 - tr / tm, 1.0 - dt / tm)
        a_next[:-1] = a_all[1:]
        sbar = (tr / tm) * delta + (dt / tm) * a_next
        pre = np.vstack([np.zeros((1, r[l - 1].shape[1])) if r_prev is None or r_prev[l - 1] is None
                         else np.asarray(r_prev[l - 1], float)[None], r[l - 1][:-1]])
        out["W"][l] = sbar.T @ pre
        out["b"][l] = sbar.sum(0)
        out["lam"][l] = -sbar / dt
        if s is not None and u is not None:
            out["tau_m"][l] = -np.sum(sbar * (s[l] - u[l]), axis=0) / tm
        if l > 1:
            g = np.zeros_like(r[l - 1])
            g[:-1] = sbar[1:] @ np.asarray(W[l], float)
            g_r[l - 1] = g
    return out


def cosine(a, b):
    """Cosine similarity of two arrays (flattened); nan if either is zero."""
    a = np.ravel(np.asarray(a, float))
    b = np.ravel(np.asarray(b, float))
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    return float(np.dot(a, b) / (na * nb))


def flatten(mats):
    """Concatenate a list of arrays (None entries skipped) into one vector."""
    return np.concatenate([np.ravel(m) for m in mats if m is not None])


def gle_adjoint_gain_ratio(omega, tau_m, tau_r):
    """``|GLE error operator| / |adjoint|`` at angular frequency ``omega`` (rad per time unit):
    (1 + w^2 tau_m^2)/(1 + w^2 tau_r^2) (§1.5). Both have the phase
    atan(w tau_m) - atan(w tau_r)."""
    omega = np.asarray(omega, float)
    return (1 + omega ** 2 * tau_m ** 2) / (1 + omega ** 2 * tau_r ** 2)


def local_gradient(err, r_pre, tau_m=None, tau_r=None, dt=None, trace=False):
    """Integral over a window of a local weight-gradient estimate, in the network's pairing
    (error and presynaptic signal of the same step), as an (n_post, n_pre) matrix.

    ``trace=False``: sum_n dt err^n (r_pre^n)^T (GLE, instantaneous). ``trace=True``: the
    presynaptic rate is first passed through the postsynaptic forward filter
    D+_tau_r I-_tau_m (Euler, as the VLE synapses do): q^{n+1} = q^n + dt (r^n - q^n)/tau_m,
    trace^n = q^n + tau_r (r^n - q^n)/tau_m, starting from q = 0.
    """
    err = np.asarray(err, float)
    r_pre = np.asarray(r_pre, float)
    if not trace:
        return dt * err.T @ r_pre
    tm = np.asarray(tau_m, float)[:, None]
    tr = np.asarray(tau_r, float)[:, None]
    q = np.zeros((err.shape[1], r_pre.shape[1]))
    G = np.zeros_like(q)
    for n in range(err.shape[0]):
        tr_n = q + tr * (r_pre[n][None, :] - q) / tm
        G += dt * err[n][:, None] * tr_n
        q = q + dt * (r_pre[n][None, :] - q) / tm
    return G


def window_alignment(local, true_grad):
    """Cosine between a local update (list of matrices) and -dL/dW (list of matrices), over
    all layers together and per layer; returns (total, [per layer])."""
    per = [cosine(a, -g) if a is not None and g is not None else float("nan")
           for a, g in zip(local, true_grad)]
    loc = flatten([a for a, g in zip(local, true_grad) if a is not None and g is not None])
    tru = flatten([g for a, g in zip(local, true_grad) if a is not None and g is not None])
    return cosine(loc, -tru), per
