"""Analysis functions on synthetic data with known answers."""

import numpy as np
import pytest

from locallearn.analysis import balance, errors, spikes, weights


# ----------------------------------------------------------------------------- spikes
def test_rates_and_counts():
    idx = np.array([0, 0, 1, 2, 2, 2])
    np.testing.assert_array_equal(spikes.spike_counts(idx, 4), [2, 1, 3, 0])
    np.testing.assert_allclose(spikes.firing_rates(idx, 4, 2.0), [1, 0.5, 1.5, 0])


def test_cv_of_regular_and_poisson_trains():
    rng = np.random.default_rng(0)
    regular = np.arange(0, 100, 0.1)
    poisson = np.cumsum(rng.exponential(0.1, size=20000))
    times = np.concatenate([regular, poisson])
    idx = np.concatenate([np.zeros(len(regular), int), np.ones(len(poisson), int)])
    cv = spikes.isi_cv(times, idx, 3)
    assert cv[0] == pytest.approx(0.0, abs=1e-9)
    assert cv[1] == pytest.approx(1.0, abs=0.03)
    assert np.isnan(cv[2])  # no spikes


def test_fano_factor_of_poisson_counts_is_one():
    rng = np.random.default_rng(1)
    counts = rng.poisson(7.0, size=(4000, 3))
    np.testing.assert_allclose(spikes.fano_factor(counts), 1.0, atol=0.08)
    const = np.full((10, 2), 5)
    np.testing.assert_allclose(spikes.fano_factor(const), 0.0)


def test_multi_spike_fraction():
    assert spikes.multi_spike_fraction([1, 2, 2, 5, 7, 7, 7]) == pytest.approx(2 / 4)
    assert spikes.multi_spike_fraction([]) == 0.0
    assert spikes.multi_spike_fraction([3, 4, 5]) == 0.0


def test_window_counts():
    steps = np.array([0, 5, 10, 12, 25, 30])
    idx = np.array([0, 1, 0, 0, 1, 0])
    c = spikes.window_counts(steps, idx, 2, start=0, window=10, n_windows=3)
    np.testing.assert_array_equal(c, [[1, 1], [2, 0], [0, 1]])


def test_filtered_spike_trains_match_a_direct_loop():
    rng = np.random.default_rng(2)
    N, T, decay = 4, 300, 0.95
    steps = np.sort(rng.integers(0, T, 60))
    idx = rng.integers(0, N, 60)
    o = np.zeros((T, N))
    np.add.at(o, (steps, idx), 1)
    r = np.zeros((T, N))
    for n in range(1, T):
        r[n] = decay * r[n - 1] + o[n - 1]
    for start, stop in [(0, T), (1, 50), (100, 300), (250, 251)]:
        got = spikes.filtered_spike_trains(steps, idx, N, start, stop, decay)
        np.testing.assert_allclose(got, r[start:stop], atol=1e-12)


def test_ping_pong_fraction():
    F = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    times = np.array([0.0, 0.0005, 0.010, 0.0102])
    idx = np.array([0, 1, 0, 2])
    # spike 0 followed by its opposite within 1 ms; the others are not
    assert spikes.ping_pong_fraction(times, idx, F, 1e-3) == pytest.approx(1 / 4)


# ----------------------------------------------------------------------------- errors
def test_decoding_error_known_values():
    t = np.linspace(0, 10, 1001)
    x = np.stack([np.sin(t), np.cos(t)], axis=1)
    assert errors.decoding_error(x, x) == 0.0
    assert errors.decoding_error(x, np.zeros_like(x)) == pytest.approx(1.0)
    assert errors.decoding_error(x, 0.5 * x) == pytest.approx(0.25)
    assert errors.nrmse(x, 0.5 * x) == pytest.approx(0.5)
    # a constant offset is not an error (variance-based)
    assert errors.decoding_error(x, x + 3.0) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        errors.decoding_error(x, x[:, :1])


def test_least_squares_decoder_recovers_linear_map():
    rng = np.random.default_rng(3)
    r = rng.standard_normal((500, 6))
    D = rng.standard_normal((2, 6))
    np.testing.assert_allclose(errors.least_squares_decoder(r, r @ D.T), D, atol=1e-10)


# ----------------------------------------------------------------------------- weights
def test_scale_invariant_distance():
    rng = np.random.default_rng(4)
    W_opt = -rng.standard_normal((5, 5))
    d, s = weights.scale_invariant_distance(0.7 * W_opt, W_opt)
    assert d == pytest.approx(0.0, abs=1e-12) and s == pytest.approx(0.7)
    # orthogonal perturbation of known size: dist = |E|^2 / (|sW|^2 + |E|^2)
    E = rng.standard_normal((5, 5))
    E -= np.sum(E * W_opt) / np.sum(W_opt ** 2) * W_opt
    W = 2.0 * W_opt + E
    d, s = weights.scale_invariant_distance(W, W_opt)
    assert s == pytest.approx(2.0)
    assert d == pytest.approx(np.sum(E ** 2) / np.sum(W ** 2))
    stack_d, stack_s = weights.scale_invariant_distance(np.stack([W_opt, W]), W_opt)
    np.testing.assert_allclose(stack_d, [0.0, d], atol=1e-12)
    np.testing.assert_allclose(stack_s, [1.0, 2.0])
    assert weights.relative_distance(1.1 * W_opt, W_opt) == pytest.approx(0.1)


def test_implied_decoder_and_mhat():
    F = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    np.testing.assert_allclose(weights.implied_decoder(-0.8 * F @ F.T, F), 0.8 * F.T)
    A = np.array([[-1.0, 12.6], [-12.6, -1.0]])
    lam = 10.0
    W_s = F @ (A + lam * np.eye(2)) @ F.T
    np.testing.assert_allclose(weights.mhat(W_s, F), A + lam * np.eye(2), atol=1e-12)
    assert weights.mhat_distance(W_s, F, A, lam) == pytest.approx(0.0, abs=1e-12)
    assert weights.mhat_distance(np.zeros((4, 4)), F, A, lam) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- balance
def test_drive_correlation_and_fit():
    rng = np.random.default_rng(5)
    ff = rng.standard_normal((1000, 3))
    rec = -ff + 0.01 * rng.standard_normal((1000, 3))
    c = balance.drive_correlation(ff, rec)
    assert np.all(c < -0.999)
    slope, intercept, r2 = balance.linear_fit(ff[:, 0], 2.0 * ff[:, 0] + 1.0)
    assert (slope, intercept, r2) == pytest.approx((2.0, 1.0, 1.0))


def test_ei_balance_of_cancelling_inputs():
    rng = np.random.default_rng(6)
    T = 5000
    ff = np.abs(rng.standard_normal((T, 2))) * 0.01  # excitation only
    rec = -ff * (1 + 0.01 * rng.standard_normal((T, 2)))  # matched inhibition
    corr, imbalance = balance.ei_balance(ff, rec, decay=0.99)
    assert np.all(corr > 0.99)
    assert np.all(imbalance < 0.02)
    corr2, imb2 = balance.ei_balance(ff, np.zeros_like(ff), decay=0.99)
    assert np.all(imb2 > 0.99)  # nothing cancels


def test_command_sigma_matches_scipy_lyapunov():
    """The Kronecker solve of the OU command's Lyapunov equation against scipy.linalg."""
    from scipy.linalg import solve_continuous_lyapunov

    from locallearn.models.spiking_model import command_sigma

    A = np.array([[-4.8, -22.4], [40.0, 0.0]])
    tau_c = 0.03
    M = np.block([[-np.eye(2) / tau_c, np.zeros((2, 2))], [np.eye(2), A]])
    Q = np.zeros((4, 4))
    Q[:2, :2] = 2.0 / tau_c * np.eye(2)
    P = solve_continuous_lyapunov(M, -Q)
    assert command_sigma(A, tau_c, 3.0) == pytest.approx(3.0 / np.sqrt(np.mean(np.diag(P)[2:])),
                                                         rel=1e-10)
    lam = 50.0
    assert command_sigma(-lam * np.eye(3), tau_c, 3.0) == pytest.approx(
        3.0 * np.sqrt(lam * (lam + 1 / tau_c)), rel=1e-10)
