"""The exact adjoint of the prospective rate network (docs/latent-equilibrium.md §1.5), on
synthetic data: pure NumPy."""

import numpy as np
import pytest

from locallearn.analysis import adjoint as A


def _copy(lst):
    return [None if v is None else np.array(v, float) for v in lst]


def _chain_setup():
    """§1.5's check: 2-neuron softplus chain, tau_m = (1, 2), tau_r = 0.1, dt = 1e-3, T = 30;
    the target is the output of the teacher w = (1, 2)."""
    dt, T = 1e-3, 30.0
    t = np.arange(int(round(T / dt))) * dt
    x = (np.sin(0.7 * t) + 0.5 * np.sin(2.3 * t + 1.0))[:, None]
    tau_m = [None, np.array([1.0]), np.array([2.0])]
    tau_r = [None, np.array([0.1]), np.array([0.1])]
    phis = [None, "softplus", "softplus"]
    b = [None, np.zeros(1), np.zeros(1)]
    y = A.simulate_forward(x, [None, np.array([[1.0]]), np.array([[2.0]])], b, tau_m, tau_r,
                           phis, dt)["r"][2]
    return dict(x=x, y=y, dt=dt, tau_m=tau_m, tau_r=tau_r, phis=phis, b=b)


def _loss(s, W, tau_m):
    out = A.simulate_forward(s["x"], W, s["b"], tau_m, s["tau_r"], s["phis"], s["dt"])
    return A.mse_loss(out["r"][2], s["y"], s["dt"])[0], out


def test_adjoint_matches_finite_differences_on_the_two_neuron_chain():
    """Acceptance: relative error below 1e-3 for both weights and both tau_m (central
    differences of the Euler-discretised system)."""
    s = _chain_setup()
    W = [None, np.array([[0.6]]), np.array([[1.4]])]
    tau_m = [None, np.array([0.7]), np.array([1.5])]
    L, out = _loss(s, W, tau_m)
    assert L > 1e-3  # far from the teacher: a real gradient
    g = A.adjoint_gradients(out["r"], out["phip"], W, tau_m, s["tau_r"], s["dt"],
                            A.mse_loss(out["r"][2], s["y"], s["dt"])[1], s=out["s"], u=out["u"])
    h = 1e-5
    for l in (1, 2):
        Wp, Wm = _copy(W), _copy(W)
        Wp[l] += h
        Wm[l] -= h
        fd = (_loss(s, Wp, tau_m)[0] - _loss(s, Wm, tau_m)[0]) / (2 * h)
        assert abs(g["W"][l][0, 0] - fd) / abs(fd) < 1e-3
        tp, tn = _copy(tau_m), _copy(tau_m)
        tp[l] += h
        tn[l] -= h
        fd = (_loss(s, W, tp)[0] - _loss(s, W, tn)[0]) / (2 * h)
        assert abs(g["tau_m"][l][0] - fd) / abs(fd) < 1e-3
    # lambda (§1.5): terminal condition lambda(T) = (tau_r/tau_m) delta(T) / dt
    delta_T = out["phip"][2][-1] * A.mse_loss(out["r"][2], s["y"], s["dt"])[1][-1]
    assert g["lam"][2][-1] == pytest.approx(-(0.1 / 1.5) * delta_T / s["dt"])


def test_adjoint_matches_finite_differences_in_a_wider_tanh_network():
    """Every weight and bias of a 2-3-2 network with mixed time constants (short run)."""
    rng = np.random.default_rng(3)
    dt, n = 0.01, 600
    t = np.arange(n) * dt
    x = np.stack([np.sin(1.3 * t), np.cos(0.4 * t)], axis=1)
    sizes = [2, 3, 2]
    W = [None] + [rng.normal(0, 0.8, (sizes[l], sizes[l - 1])) for l in (1, 2)]
    b = [None] + [rng.normal(0, 0.3, sizes[l]) for l in (1, 2)]
    tau_m = [None, np.array([0.5, 1.0, 2.0]), np.array([1.0, 0.3])]
    tau_r = [None, np.array([0.1, 1.0, 0.2]), np.array([1.0, 0.05])]
    phis = [None, "tanh", "linear"]
    y = rng.normal(0, 0.5, (n, 2))

    def loss(W, b):
        out = A.simulate_forward(x, W, b, tau_m, tau_r, phis, dt)
        return A.mse_loss(out["r"][2], y, dt)[0], out

    L, out = loss(W, b)
    g = A.adjoint_gradients(out["r"], out["phip"], W, tau_m, tau_r, dt,
                            A.mse_loss(out["r"][2], y, dt)[1])
    h = 1e-6
    for l in (1, 2):
        for idx in np.ndindex(W[l].shape):
            Wp, Wm = _copy(W), _copy(W)
            Wp[l][idx] += h
            Wm[l][idx] -= h
            fd = (loss(Wp, b)[0] - loss(Wm, b)[0]) / (2 * h)
            assert g["W"][l][idx] == pytest.approx(fd, rel=1e-5, abs=1e-9)
        for i in range(sizes[l]):
            bp, bm = _copy(b), _copy(b)
            bp[l][i] += h
            bm[l][i] -= h
            fd = (loss(W, bp)[0] - loss(W, bm)[0]) / (2 * h)
            assert g["b"][l][i] == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_instantaneous_neuron_has_the_textbook_gradient():
    """tau_r = tau_m (LE): u_p = s exactly, so dL/dw = sum_n dt (r^n - y^n) x^{n-1}."""
    dt, n = 0.01, 300
    x = np.sin(np.arange(n) * 0.05)[:, None]
    y = np.cos(np.arange(n) * 0.03)[:, None]
    W = [None, np.array([[0.7]])]
    out = A.simulate_forward(x, W, [None, np.array([0.1])], [None, np.array([0.5])],
                             [None, np.array([0.5])], [None, "linear"], dt)
    r = out["r"][1][:, 0]
    assert np.allclose(r[1:], 0.7 * x[:-1, 0] + 0.1)
    g = A.adjoint_gradients(out["r"], out["phip"], W, [None, [0.5]], [None, [0.5]], dt,
                            A.mse_loss(out["r"][1], y, dt)[1])
    expected = np.sum(dt * (r[1:] - y[1:, 0]) * x[:-1, 0])
    assert g["W"][1][0, 0] == pytest.approx(expected, rel=1e-12)


def test_presynaptic_trace_makes_the_last_layer_exact():
    """§7 [S] / VLE (ours): pairing the output error with D+_tau_r I-_tau_m[r_pre] gives the
    exact gradient of a retrospective output layer (adjointness), while pairing the GLE error
    with r_pre does not; both up to the one-step pairing offset of the network."""
    dt, n = 0.01, 4000
    t = np.arange(n) * dt
    x = np.stack([np.sin(0.9 * t), np.sin(2.1 * t + 0.5)], axis=1)
    W = [None, np.array([[0.8, -0.5]])]
    tm, tr = [None, np.array([2.0])], [None, np.array([0.1])]
    out = A.simulate_forward(x, W, [None, np.zeros(1)], tm, tr, [None, "linear"], dt)
    y = 0.5 * np.sin(0.5 * t)[:, None]
    L, dLdr = A.mse_loss(out["r"][1], y, dt)
    g = A.adjoint_gradients(out["r"], out["phip"], W, tm, tr, dt, dLdr)
    eps = -dLdr / dt  # raw output error phi' (y - r) (linear: phi' = 1)
    # the network pairs the error of step n with the presynaptic signal of step n - 1
    vle = A.local_gradient(eps[1:], x[:-1], tau_m=tm[1], tau_r=tr[1], dt=dt, trace=True)
    assert A.cosine(vle, -g["W"][1]) > 0.999
    assert np.linalg.norm(vle) == pytest.approx(np.linalg.norm(g["W"][1]), rel=0.02)
    # GLE: e = D+_tau_m I-_tau_r [eps] (Euler as in the error neuron), paired with r_pre
    v, e = 0.0, np.zeros_like(eps[:, 0])
    for k in range(n):
        e[k] = v + tm[1][0] * (eps[k, 0] - v) / tr[1][0]
        v = v + dt * (eps[k, 0] - v) / tr[1][0]
    gle = A.local_gradient(e[1:, None], x[:-1], dt=dt)
    assert A.cosine(gle, -g["W"][1]) < A.cosine(vle, -g["W"][1])


def test_gle_gain_mismatch_matches_spec_numbers():
    """§1.5: |GLE| / |adjoint| = (1 + w^2 tau_m^2) / (1 + w^2 tau_r^2): 1.36, 4.95, 33.9."""
    ratio = A.gle_adjoint_gain_ratio([0.3, 1.0, 3.0], tau_m=2.0, tau_r=0.1)
    np.testing.assert_allclose(ratio, [1.36, 4.95, 33.9], rtol=5e-3)


def test_cosine_and_window_alignment():
    assert A.cosine([1, 0], [0, 2]) == pytest.approx(0.0)
    assert A.cosine([1, 2], [2, 4]) == pytest.approx(1.0)
    assert np.isnan(A.cosine([0, 0], [1, 0]))
    local = [None, np.array([[1.0, 0.0]]), np.array([[0.0, 2.0]])]
    true = [None, np.array([[-2.0, 0.0]]), np.array([[0.0, 1.0]])]
    total, per = A.window_alignment(local, true)
    assert per[1] == pytest.approx(1.0) and per[2] == pytest.approx(-1.0)
    assert total == pytest.approx((2.0 - 2.0) / (np.sqrt(5) * np.sqrt(5)))


def test_local_gradient_trace_filters_the_presynaptic_rate():
    """trace=True with tau_r = tau_m reduces to the plain product (the filter is the identity)."""
    rng = np.random.default_rng(0)
    err, r = rng.normal(size=(50, 2)), rng.normal(size=(50, 3))
    plain = A.local_gradient(err, r, dt=0.1)
    same = A.local_gradient(err, r, tau_m=[0.5, 0.7], tau_r=[0.5, 0.7], dt=0.1, trace=True)
    np.testing.assert_allclose(same, plain, rtol=1e-12)
