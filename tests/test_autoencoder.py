"""The balanced autoencoder (§1, §2, §4-§7).

Sections cited as §N are those of ``docs/balanced-spiking.md``.
"""

import json

import numpy as np
import pytest

from conftest import run_cli
from locallearn import results
from locallearn.analysis import weights
from locallearn.protocol import run_protocol

SHORT = dict(duration="2*second", t_test="0.5*second", t_before="0.2*second", fano_trials="0")


def test_quick_run_meets_the_acceptance_numbers(tmp_path):
    """Issue 2: the quick run learns (distance < 0.05 and <= initial/10), stays balanced
    (< -0.9) with at most one spike per step; run directory complete."""
    out = tmp_path / "auto"
    proc = run_cli("run", "autoencoder", "--quick", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = results.load(out)
    m = res.metrics
    for key in ("weight_distance_initial", "weight_distance_final", "weight_scale",
                "decoding_nrmse", "balance_correlation", "rate_hz", "cv_isi",
                "multi_spike_fraction"):
        assert key in m and np.isfinite(m[key]), key
    for key in ("F", "W_initial", "W_final"):
        assert key in res.arrays
    assert m["weight_distance_final"] < 0.05
    assert m["weight_distance_final"] <= m["weight_distance_initial"] / 10
    assert m["balance_correlation"] < -0.9
    assert m["multi_spike_fraction"] < 0.01
    assert 5 < m["rate_hz"] < 60 and m["cv_isi"] > 0.8  # irregular, plausible rates
    # the metrics recompute from the saved arrays
    d, s = weights.scale_invariant_distance(res.arrays["W_final"], res.arrays["W_opt"])
    assert d == pytest.approx(m["weight_distance_final"]) and s == pytest.approx(m["weight_scale"])
    cfg = json.loads((out / "config.json").read_text())
    for key in ("seed", "device", "brian2", "numpy", "git_revision", "locallearn"):
        assert key in cfg
    assert cfg["model"]["fast_on_pre"].startswith("w = w - eta_f_post")  # resolved strings
    assert cfg["dt"] == "0.1 * msecond"


def test_runtime_and_standalone_agree_bit_for_bit():
    """Same seed, same result: numpy runtime and cpp_standalone give identical spikes."""
    a = run_protocol("autoencoder", quick=True, overrides=SHORT, device="numpy", seed=5,
                     report=False)
    b = run_protocol("autoencoder", quick=True, overrides=SHORT, device="cpp_standalone",
                     seed=5, report=False)
    np.testing.assert_array_equal(a.arrays["spike_steps"], b.arrays["spike_steps"])
    np.testing.assert_array_equal(a.arrays["spike_i"], b.arrays["spike_i"])
    np.testing.assert_allclose(a.arrays["W_final"], b.arrays["W_final"], rtol=0, atol=1e-12)
    c = run_protocol("autoencoder", quick=True, overrides=SHORT, device="cpp_standalone",
                     seed=6, report=False)
    assert not np.array_equal(c.arrays["spike_i"], b.arrays["spike_i"])  # seeds matter


def test_beta_scales_the_learned_weights():
    """Spec 2: the fixed point is W* = -<V>/beta, so a larger beta gives a smaller scale
    (§7: 0.505 at beta = 1 against 0.76 at beta = 1/2)."""
    ov = dict(SHORT, duration="6*second")
    half = run_protocol("autoencoder", quick=True, overrides=ov, seed=2, report=False)
    one = run_protocol("autoencoder", quick=True, overrides=dict(ov, beta="1.0"), seed=2,
                       report=False)
    assert one.metrics["weight_scale"] < 0.8 * half.metrics["weight_scale"]
    assert one.metrics["weight_distance_final"] < 0.2  # still learns the structure


def test_plain_threshold_gives_multiple_spikes_per_step():
    """Spec 4: without the winner-take-all, many steps hold several spikes."""
    res = run_protocol("autoencoder", quick=True, overrides=dict(SHORT, wta="false"), seed=1,
                       report=False)
    wta = run_protocol("autoencoder", quick=True, overrides=SHORT, seed=1, report=False)
    assert wta.metrics["multi_spike_fraction"] == 0.0
    assert res.metrics["multi_spike_fraction"] > 0.05


def test_fixed_fast_rule_leaves_weights_unchanged_and_custom_rule_runs():
    fixed = run_protocol("autoencoder", quick=True, overrides=dict(SHORT, fast_rule="fixed"),
                         seed=1, report=False)
    np.testing.assert_array_equal(fixed.arrays["W_final"], fixed.arrays["W_initial"])
    # a user-written rule: the 2015 rule without the beta term, written from scratch
    rule = "w = w - eta_f_post*plastic_post*(V_post + 0.5*w)\nV_post += w"
    own = run_protocol("autoencoder", quick=True, overrides=dict(SHORT, fast_on_pre=rule),
                       seed=1, report=False)
    ref = run_protocol("autoencoder", quick=True, overrides=SHORT, seed=1, report=False)
    np.testing.assert_allclose(own.arrays["W_final"], ref.arrays["W_final"], atol=1e-12)
    assert own.config["model"]["fast_on_pre"] == rule


def test_three_devices_identical_on_a_deterministic_input():
    """Issue 2 acceptance: numpy, cython and cpp_standalone give identical spike trains (and
    weights to 1e-12) on a deterministic input with noise off, same schedule."""
    from locallearn.models.spiking import SINE_TARGET_EQS

    ov = dict(duration="0.5*second", t_test="0.2*second", t_before="0.1*second",
              fano_trials="0", sigma_V="0", target_eqs=SINE_TARGET_EQS)
    runs = {dev: run_protocol("autoencoder", quick=True, overrides=ov, device=dev, seed=3,
                              report=False)
            for dev in ("numpy", "cython", "cpp_standalone")}
    ref = runs["cpp_standalone"]
    assert len(ref.arrays["spike_i"]) > 100  # the network is active in this window
    for dev in ("numpy", "cython"):
        np.testing.assert_array_equal(runs[dev].arrays["spike_steps"], ref.arrays["spike_steps"])
        np.testing.assert_array_equal(runs[dev].arrays["spike_i"], ref.arrays["spike_i"])
        np.testing.assert_allclose(runs[dev].arrays["W_final"], ref.arrays["W_final"], rtol=0,
                                   atol=1e-12)
