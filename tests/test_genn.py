"""The genn device: brian2genn 1.7.0 on GeNN 4.x, in its own environment and subprocess.

Tests marked ``genn`` need GeNN (``GENN_PATH`` pointing at a GeNN 4.x tree, see README "GeNN")
and the GeNN environment (``make genn-env``); without them they skip and say why, so CI, which
has neither, stays green. They run CPU-only where there is no NVIDIA GPU. The command-line,
configuration, file-format and schedule tests at the top never skip.

GeNN has no seed (brian2genn 1.7 draws noise from an unseeded generator), so a GeNN run is
compared with cpp_standalone statistically; only a noise-free network is compared spike for
spike, against cpp_standalone run in GeNN's order of operations (`devices.session(genn_order=
True)`: summed variables one step old, GeNN's schedule).
"""

import os
import sys

import numpy as np
import pytest

from conftest import run_cli
from locallearn import devices, genn
from locallearn.errors import ConfigError
from locallearn.models.spiking import SINE_TARGET_EQS
from locallearn.protocol import run_protocol


def _genn_missing():
    try:
        genn.check_genn_available()
    except ConfigError as exc:
        return str(exc)
    return None


MISSING = _genn_missing()
needs_genn = pytest.mark.skipif(
    MISSING is not None,
    reason=f"GeNN is not available ({MISSING}); export GENN_PATH=<GeNN 4.x tree> and run "
           "'make genn-env' to run the GeNN tests")


# ============================================================================================
# Without GeNN (never skipped)
# ============================================================================================
def test_cli_genn_without_genn_path(tmp_path):
    """'run autoencoder --device genn' without GENN_PATH: exit 2, one line naming GENN_PATH,
    nothing written (neither the run directory nor a GeNN work directory)."""
    out = tmp_path / "run"
    build_root = tmp_path / "builds"
    proc = run_cli("run", "autoencoder", "--device", "genn", "--quick", "--out", str(out),
                   env={"GENN_PATH": "", "LOCALLEARN_BUILD_ROOT": str(build_root)})
    assert proc.returncode == 2, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("locallearn: error: GENN_PATH: not set"), lines[0]
    assert proc.stdout == ""
    assert not out.exists()
    assert not build_root.exists() or not os.listdir(build_root)


def _fake_genn(root, version="4.9.0", buildmodel=True):
    root.mkdir()
    (root / "version.txt").write_text(version + "\n")
    if buildmodel:
        (root / "bin").mkdir()
        (root / "bin" / "genn-buildmodel.sh").write_text("#!/bin/sh\n")
    return root


@pytest.mark.parametrize("case,param,fragment", [
    ("file", "GENN_PATH", "not a directory"),
    ("empty", "GENN_PATH", "not a GeNN source tree"),
    ("genn5", "GENN_PATH", "GeNN 4.x is needed"),
    ("no-env", "LOCALLEARN_GENN_PYTHON", "make genn-env"),
])
def test_check_genn_available_names_what_is_wrong(tmp_path, monkeypatch, case, param,
                                                  fragment):
    if case == "file":
        path = tmp_path / "genn.txt"
        path.write_text("")
    elif case == "empty":
        path = tmp_path / "genn"
        path.mkdir()
    else:
        path = _fake_genn(tmp_path / "genn", version="5.1.0" if case == "genn5" else "4.9.0")
    monkeypatch.setenv("GENN_PATH", str(path))
    monkeypatch.setenv("LOCALLEARN_GENN_PYTHON", str(tmp_path / "nowhere" / "python"))
    with pytest.raises(ConfigError) as info:
        genn.check_genn_available()
    assert info.value.parameter == param
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_check_genn_available_accepts_a_4x_tree(tmp_path, monkeypatch):
    path = _fake_genn(tmp_path / "genn", version="4.9.0")
    monkeypatch.setenv("GENN_PATH", str(path))
    monkeypatch.setenv("LOCALLEARN_GENN_PYTHON", os.path.realpath(sys.executable))
    assert genn.check_genn_available() == str(path)


def test_gpu_choice_can_be_forced(monkeypatch):
    monkeypatch.setenv("LOCALLEARN_GENN_GPU", "0")
    assert genn.use_gpu() is False
    monkeypatch.setenv("LOCALLEARN_GENN_GPU", "1")
    assert genn.use_gpu() is True


@pytest.mark.parametrize("name,value", [
    ("LOCALLEARN_GENN_BLOCK_SIZE", "100"), ("LOCALLEARN_GENN_BLOCK_SIZE", "2048"),
    ("LOCALLEARN_GENN_BLOCK_SIZE", "big"), ("LOCALLEARN_GENN_DEVICE", "-1")])
def test_bad_gpu_settings_are_one_line_errors(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        genn.gpu_settings()
    assert info.value.parameter == name and "\n" not in str(info.value)


def test_gpu_settings_reach_brian2genn_preferences(monkeypatch):
    """A fixed block size sets every kernel's size and manual selection (GeNN asserts that
    occupancy block sizes go with optimal device choice); a device index alone keeps the
    occupancy search on that device."""
    from types import SimpleNamespace

    def prefs():
        backend = SimpleNamespace(device_select="OPTIMAL", manual_device=0,
                                  blocksize_select_method="OCCUPANCY",
                                  extra_compile_args_nvcc=[])
        return SimpleNamespace(devices=SimpleNamespace(genn=SimpleNamespace(
            cuda_backend=backend))), backend

    monkeypatch.setenv("LOCALLEARN_GENN_BLOCK_SIZE", "128")
    monkeypatch.delenv("LOCALLEARN_GENN_DEVICE", raising=False)
    p, b = prefs()
    genn.apply_gpu_settings(p, genn.gpu_settings())
    assert (b.device_select, b.manual_device, b.blocksize_select_method) == ("MANUAL", 0,
                                                                            "MANUAL")
    assert b.neuron_blocksize == b.synapse_blocksize == b.init_sparse_blocksize == 128
    monkeypatch.delenv("LOCALLEARN_GENN_BLOCK_SIZE")
    monkeypatch.setenv("LOCALLEARN_GENN_DEVICE", "2")
    p, b = prefs()
    genn.apply_gpu_settings(p, genn.gpu_settings())
    assert (b.device_select, b.manual_device, b.blocksize_select_method) == ("MANUAL", 2,
                                                                            "OCCUPANCY")


def test_raw_arrays_round_trip(tmp_path):
    """The worker's raw dict crosses from NumPy 1 to NumPy 2 as NPZ + JSON, no pickles."""
    raw = dict(x=np.arange(6.0).reshape(3, 2), pops=dict(
        net=dict(spike_steps=np.array([3, 7], np.int64), spike_i=np.array([1, 0]),
                 W_fast_t=np.zeros((0, 2, 2)), n=np.float64(2.5)),
        empty={}))
    path = str(tmp_path / "raw.npz")
    genn.save_raw(raw, path)
    back = genn.load_raw(path)
    assert set(back) == {"x", "pops"} and set(back["pops"]) == {"net", "empty"}
    assert back["pops"]["empty"] == {}
    for key in ("spike_steps", "spike_i", "W_fast_t"):
        a, b = raw["pops"]["net"][key], back["pops"]["net"][key]
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    assert back["pops"]["net"]["n"] == 2.5
    np.testing.assert_array_equal(back["x"], raw["x"])


def test_genn_order_session_sets_and_restores_the_schedule():
    """genn_order: GeNN's schedule inside the session, summed updaters moved before the
    synaptic events, everything restored afterwards; a short run still learns nothing odd."""
    from brian2 import prefs

    before = list(prefs.core.network.default_schedule)
    ov = dict(duration="0.03*second", t_test="0.02*second", t_before="0*second",
              fano_trials="0", weights_dt="0.01*second")
    with devices.session("numpy", genn_order=True):
        assert list(prefs.core.network.default_schedule) == devices.GENN_SCHEDULE
        assert prefs.codegen.loop_invariant_optimisations is False
    assert list(prefs.core.network.default_schedule) == before
    res = run_protocol("autoencoder", quick=True, overrides=ov, device="numpy", seed=1,
                       report=False, genn_order=True)
    assert res.config["genn_order"] is True
    assert res.metrics["multi_spike_fraction"] == 0.0
    assert list(prefs.core.network.default_schedule) == before


def test_drives_recorded_before_delivery_still_satisfy_the_membrane_identity():
    """In GeNN's order the drive monitor (slot start) sees r += 1 of the previous step's spikes
    but not yet their fast jumps on V; collect takes those spikes out of r, so that
    V = drive_ff + W r holds (no learning: W constant). Without it rms ~0.05 here, ~0.1 on GeNN."""
    ov = dict(duration="0.1*second", t_test="0.1*second", t_before="0*second",
              fano_trials="0", weights_dt="0.01*second", eta_f="0")
    for genn_order in (False, True):
        m = run_protocol("autoencoder", quick=True, overrides=ov, device="numpy", seed=1,
                         report=False, genn_order=genn_order).metrics
        assert m["n_spikes"] > 50
        assert m["membrane_residual_ok"], (genn_order, m["membrane_residual_rms"])


# ============================================================================================
# With GeNN (CPU-only here): skipped without GENN_PATH and the GeNN environment
# ============================================================================================
#: A noise-free autoencoder: sine command, no membrane noise, 2 s of learning.
DETERMINISTIC = dict(duration="2*second", t_test="0.5*second", t_before="0.1*second",
                     fano_trials="0", sigma_V="0", target_eqs=SINE_TARGET_EQS)


@pytest.mark.genn
@needs_genn
def test_deterministic_autoencoder_matches_standalone_in_genn_order():
    """Issue: on a deterministic input GeNN's spikes match a run with GeNN's schedule.

    Measured: identical spike trains (about 2400 spikes) and weights equal to 1e-15; the same
    configuration in Brian2's default order parts from GeNN after about 100 spikes (GeNN's
    summed variables are one step old)."""
    g = run_protocol("autoencoder", quick=True, overrides=DETERMINISTIC, device="genn", seed=1,
                     report=False)
    c = run_protocol("autoencoder", quick=True, overrides=DETERMINISTIC,
                     device="cpp_standalone", seed=1, report=False, genn_order=True)
    assert g.config["device"] == "genn"
    assert g.metrics["n_spikes"] > 1000 and g.metrics["multi_spike_fraction"] == 0.0
    np.testing.assert_array_equal(g.arrays["spike_steps"], c.arrays["spike_steps"])
    np.testing.assert_array_equal(g.arrays["spike_i"], c.arrays["spike_i"])
    np.testing.assert_allclose(g.arrays["W_final"], c.arrays["W_final"], rtol=0, atol=1e-12)
    # weight snapshots every weights_dt: a StateMonitor on its own (multiple) dt works on GeNN
    assert g.arrays["W_t"].shape == c.arrays["W_t"].shape and len(g.arrays["W_t"]) > 10
    np.testing.assert_allclose(g.arrays["W_t"], c.arrays["W_t"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g.arrays["t_weights"], c.arrays["t_weights"])


#: metric -> (absolute floor of the tolerance, multiple of the standalone seed-to-seed std)
AUTOENCODER_METRICS = {
    "weight_distance_final": (0.002, 4.0),
    "weight_scale": (0.01, 4.0),
    "rate_hz": (1.0, 4.0),
    "cv_isi": (0.05, 4.0),
    "balance_correlation": (0.001, 4.0),
    "decoding_nrmse": (0.005, 4.0),
}


@pytest.mark.genn
@needs_genn
def test_quick_autoencoder_on_genn_within_standalone_spread():
    """The quick autoencoder on GeNN (CPU-only, unseeded noise) learns like cpp_standalone:
    every headline metric within the seed-to-seed spread of cpp_standalone over four seeds
    (|GeNN - mean| <= max(floor, 4 std)), and never more than one spike per step."""
    ref = [run_protocol("autoencoder", quick=True, device="cpp_standalone", seed=s,
                        report=False).metrics for s in (1, 2, 3, 4)]
    res = run_protocol("autoencoder", quick=True, device="genn", seed=1, report=False)
    g = res.metrics
    # the binary's wall time is recorded beside brian2genn's CPU time of the loop
    assert 0 < res.config["genn_simulation_cpu_s"] <= res.config["genn_binary_wall_s"] * 1.5
    assert g["multi_spike_fraction"] == 0.0
    assert g["weight_distance_final"] < 0.05  # the acceptance number of the quick run
    assert g["membrane_residual_ok"] and g["reconstruction_ok"]  # V = drive_ff + W r on GeNN
    for key, (floor, k) in AUTOENCODER_METRICS.items():
        vals = np.array([m[key] for m in ref])
        tol = max(floor, k * vals.std(ddof=1))
        assert abs(g[key] - vals.mean()) <= tol, (key, g[key], vals)


@pytest.mark.genn
@needs_genn
def test_quick_dynamics_on_genn_learns():
    """The dynamics protocol (fast and slow plasticity, readout and error feedback, two
    reference populations in a replica group, probe windows) learns on GeNN CPU-only.

    Held to the issue's "learned" bar (test_eps < 0.1 and at most a tenth of eps_zero), not to
    the quick run's 0.05: measured over seeds 1-3, cpp_standalone gave test_eps 0.008-0.026 and
    GeNN 0.005-0.054 (mhat_distance 0.071-0.087 and 0.066-0.121); see README, "GeNN"."""
    res = run_protocol("dynamics", quick=True, device="genn", seed=1, report=False)
    m = res.metrics
    assert m["test_eps"] < 0.1
    assert m["test_eps"] * 10 <= m["eps_zero"]
    assert m["mhat_distance"] < 0.2
    assert m["fast_distance_final"] < 0.01
    assert m["balance_correlation"] < -0.8
    assert m["membrane_residual_ok"] and m["reconstruction_ok"]
    assert m["eps_zero"] > 0.5 and m["eps_ideal"] < 0.02
    assert m["multi_spike_fraction"] == 0.0
    assert len(res.tables["probes"]) >= 3
    assert len(res.tables["weights"]) > 10  # weight snapshots recorded on GeNN
