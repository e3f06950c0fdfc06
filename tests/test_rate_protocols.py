"""The prospective-rate protocols (chain, fourier, fourier_ts, xor): acceptance numbers and devices.

Default suite: the quick chain (GLE and VLE pass, instantaneous fails), runtime against
standalone, the quick LE Fourier synthesis and the quick temporal XOR for VLE. Slow (-m slow):
the complete quick comparisons of fourier_ts (adjoint alignment) and xor (all methods), cython.
"""

import json

import numpy as np
import pytest

from conftest import run_cli
from locallearn import results
from locallearn.protocol import run_protocol

SHORT_CHAIN = dict(t_init="10*second", t_train="30*second", t_test="10*second",
                   loss_window="10*second", record_dt="1*second")


def test_chain_quick_meets_the_acceptance_numbers(tmp_path):
    """Issue 4: with GLE and with VLE, w_error < 1e-2 and final_loss < 1e-6 in the quick
    configuration; instantaneous backprop does not reach final_loss < 1e-3."""
    out = tmp_path / "chain"
    proc = run_cli("run", "chain", "--quick", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    for key in ("w_error", "tau_error", "final_loss", "test_loss"):
        assert np.isfinite(m[key])
    assert m["method"] == "gle" and m["w_error"] == m["w_error_gle"]
    for meth in ("gle", "vle"):
        assert m[f"w_error_{meth}"] < 1e-2, meth
        assert m[f"final_loss_{meth}"] < 1e-6, meth
    assert m["final_loss_instantaneous"] > 1e-3
    assert m["w_error_instantaneous"] > 0.5  # w1 wrong, tau_m collapses (§3a)
    res = results.load(out)
    assert {"summary", "loss", "params"} <= set(res.tables)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["dt"] == "0.02 * second"
    assert "e_s_post*r_s_pre" in cfg["model"]["weight_grad"]  # resolved strings saved


def test_runtime_and_standalone_agree_on_a_short_deterministic_run():
    """The same chain run (learning on, every operator) on numpy and cpp_standalone: final
    weights and tau_m agree to 1e-9 (relative), the output traces to 1e-9 (absolute). Standalone
    builds use -ffast-math, so bit equality is not expected."""
    kw = dict(quick=True, overrides=dict(SHORT_CHAIN, method="vle"), seed=4, report=False)
    a = run_protocol("chain", device="numpy", **kw)
    b = run_protocol("chain", device="cpp_standalone", **kw)
    sa, sb = a.tables["summary"], b.tables["summary"]
    for col in ("w1", "w2", "tau1", "tau2"):
        np.testing.assert_allclose(sa[col], sb[col], rtol=1e-9)
    la, lb = a.tables["loss"], b.tables["loss"]
    np.testing.assert_allclose(la.loss, lb.loss, rtol=1e-6, atol=1e-12)
    assert a.metrics["method"] == "vle"  # --set method=... selects the headline numbers
    assert a.metrics["w_error"] == a.metrics["w_error_vle"]


def test_fourier_le_quick_reaches_the_target():
    """Issue 4: test_mse of the LE Fourier synthesis <= 0.02 in the quick configuration (target
    variance 1/3)."""
    res = run_protocol("fourier", quick=True, device="cpp_standalone", report=False)
    m = res.metrics
    assert m["target_variance"] == pytest.approx(1 / 3, rel=1e-3)
    assert m["test_mse"] <= 0.02
    assert m["le_mse_first_50ms"] > 10 * m["test_mse"]  # it learned
    assert "le_trace" in res.tables and "alignment" not in res.tables


def test_xor_quick_vle_solves_it():
    """Issue 4: VLE >= 0.95 on 200 held-out trials (quick). The VLE network does not interact
    with the other methods, so running it alone gives the same number as the full quick run."""
    res = run_protocol("xor", quick=True, overrides=dict(methods="vle"),
                       device="cpp_standalone", report=False)
    assert res.metrics["accuracy_vle"] >= 0.95
    assert res.metrics["accuracy"] == res.metrics["accuracy_vle"]
    assert 0.4 <= res.metrics["chance_level"] <= 0.6


@pytest.mark.slow
def test_xor_quick_all_methods(tmp_path):
    """VLE and feedback alignment solve temporal XOR; GLE and instantaneous backprop stay near
    chance (§7: instantaneous at or below 0.65)."""
    out = tmp_path / "xor"
    proc = run_cli("run", "xor", "--quick", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["accuracy"] >= 0.95 and m["accuracy_vle"] >= 0.95
    assert m["accuracy_instantaneous"] <= 0.65
    assert m["accuracy_gle"] <= 0.75


@pytest.mark.slow
def test_fourier_quick_alignment_with_the_adjoint(tmp_path):
    """Issue 4 / docs/latent-equilibrium.md §6: the local VLE variant aligns with the adjoint
    gradient at least as well as GLE on the complex-signal task (mean cosine over probe windows),
    per feedback kind; learned feedback aligns B with W^T."""
    out = tmp_path / "fourier_ts"
    proc = run_cli("run", "fourier_ts", "--quick", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    for fb in ("", "/learned"):
        assert m[f"gradient_cosine_vle{fb}"] >= m[f"gradient_cosine_gle{fb}"]
    assert m["gradient_cosine_vle"] > 0.8
    assert m["angle_end_vle/learned"] < 5 and m["angle_end_vle/random"] > 20
    assert m["angle_end_vle"] < 1e-3
    for meth in ("gle", "vle", "vle/random", "vle/learned"):
        assert m[f"ts_final_loss_{meth}"] < 0.1 * m[f"ts_initial_loss_{meth}"]


@pytest.mark.slow
def test_fourier_ts_quick_pal_aligns_B(tmp_path):
    """Issue 15 acceptance: with PAL feedback (B learns from local noise, never from W) every
    method reports angle, cosine and loss, and PAL's final angle to W^T is at most half of
    random feedback's in the same run (docs/vle.md §3)."""
    methods = ["gle", "vle", "gle/random", "vle/random", "gle/pal", "vle/pal"]
    out = tmp_path / "fts"
    proc = run_cli("run", "fourier_ts", "--quick", "--set", "methods=" + ",".join(methods),
                   "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    for meth in methods:
        for key in ("angle_end", "gradient_cosine", "ts_final_loss", "ts_probe_loss"):
            assert np.isfinite(m[f"{key}_{meth}"]), (key, meth)
    for op in ("gle", "vle"):
        assert m[f"angle_end_{op}/pal"] <= 0.5 * m[f"angle_end_{op}/random"]
        assert m[f"ts_probe_loss_{op}/pal"] < 0.1 * m[f"ts_initial_loss_{op}/pal"]


@pytest.mark.slow
def test_chain_runs_on_cython():
    """The cython target gives the numpy target's numbers (short run)."""
    kw = dict(quick=True, overrides=dict(SHORT_CHAIN, methods="vle", method="vle"), seed=4,
              report=False)
    a = run_protocol("chain", device="numpy", **kw)
    b = run_protocol("chain", device="cython", **kw)
    np.testing.assert_allclose(a.tables["summary"].w1, b.tables["summary"].w1, rtol=1e-9)


def test_fourier_points_to_fourier_ts_for_the_teacher_student_keys(tmp_path):
    """Since issue 11 the teacher-student methods are parameters of fourier_ts: ``run fourier
    --set methods=...`` exits 2 before compiling, naming the protocol that takes them."""
    proc = run_cli("run", "fourier", "--quick", "--set", "methods=gle,vle/pal", "--out",
                   str(tmp_path / "f"))
    assert proc.returncode == 2
    assert "methods: not a parameter of fourier" in proc.stderr
    assert "run fourier_ts --set methods=" in proc.stderr
