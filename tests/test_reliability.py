"""Checkpoints, resume, divergence, isolation of concurrent runs, compile-once sweeps (issues 5
and 6)."""

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from locallearn import results
from locallearn.errors import DivergenceError
from locallearn.execution import segment_steps
from locallearn.protocol import resume_run, run_protocol

SEG = dict(duration="2*second", t_test="0.5*second", t_before="0.25*second", fano_trials="0",
           checkpoint_every="0.5*second")


def test_segment_steps_tile_the_run():
    assert segment_steps(1000, 0) == (1, 1000)
    assert segment_steps(1000, 2000) == (1, 1000)
    n, seg = segment_steps(27500, 5000)
    assert n * seg == 27500 and n in (5, 6)
    n, seg = segment_steps(1009, 100)  # prime: one segment is the only exact tiling near 10
    assert n * seg == 1009


def test_segmented_run_is_reproducible_and_device_independent(tmp_path):
    a = run_protocol("autoencoder", quick=True, overrides=SEG, device="cpp_standalone", seed=3,
                     out=tmp_path / "a", report=False)
    b = run_protocol("autoencoder", quick=True, overrides=SEG, device="numpy", seed=3,
                     out=tmp_path / "b", report=False)
    np.testing.assert_array_equal(a.arrays["spike_steps"], b.arrays["spike_steps"])
    np.testing.assert_allclose(a.arrays["W_final"], b.arrays["W_final"], rtol=0, atol=1e-12)
    assert not (tmp_path / "a" / "checkpoints").exists()  # cleared after success
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    assert cfg["checkpoint_every"] == "0.5 * second"


def test_resume_after_an_exception_reaches_the_same_weights(tmp_path):
    ref = run_protocol("autoencoder", quick=True, overrides=SEG, seed=4, report=False)

    class Crash(Exception):
        pass

    def crash(k, n):
        if k == 2:
            raise Crash()

    out = tmp_path / "run"
    with pytest.raises(Crash):
        run_protocol("autoencoder", quick=True, overrides=SEG, seed=4, out=out, report=False,
                     after_segment=crash)
    ckpt = sorted(os.listdir(out / "checkpoints"))
    assert ckpt == ["segment_00000.npz", "segment_00001.npz", "segment_00002.npz", "state.npz"]
    assert json.loads((out / "config.json").read_text())["status"] == "running"
    res = resume_run(out, report=False)
    np.testing.assert_array_equal(res.arrays["W_final"], ref.arrays["W_final"])
    np.testing.assert_array_equal(res.arrays["spike_steps"], ref.arrays["spike_steps"])
    assert results.load(out).metrics["status"] == "ok"


def _wait_for_segments(ckpt, n, proc, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        state = os.path.join(ckpt, "state.npz")
        if os.path.isfile(state):
            try:
                with np.load(state) as npz:
                    if int(npz["__segments_done__"]) >= n:
                        return
            except (OSError, ValueError, KeyError):
                pass  # being replaced right now
        if proc.poll() is not None:
            raise AssertionError("run ended before it could be interrupted")
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_run_resumes_to_the_same_weights(tmp_path, sig):
    """Kill a run mid-way; ``run --resume`` reaches the uninterrupted run's weights bit for bit."""
    args = ["--quick", "--seed", "5"] + sum((["--set", f"{k}={v}"] for k, v in
                                             dict(SEG, duration="6*second").items()), [])
    ref_dir = tmp_path / "ref"
    proc = run_cli("run", "autoencoder", *args, "--out", str(ref_dir))
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "killed"
    p = subprocess.Popen([sys.executable, "-m", "locallearn", "run", "autoencoder", *args,
                          "--out", str(out)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for_segments(out / "checkpoints", 3, p)
        os.killpg(p.pid, sig)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    if sig == signal.SIGTERM:
        assert p.returncode == 130 and "--resume" in err
    assert not (out / "metrics.json").exists()
    proc = run_cli("run", "--resume", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    a, b = results.load(ref_dir), results.load(out)
    np.testing.assert_array_equal(a.arrays["W_final"], b.arrays["W_final"])
    np.testing.assert_array_equal(a.arrays["spike_steps"], b.arrays["spike_steps"])


def test_divergence_stops_with_a_message_and_keeps_the_record(tmp_path):
    out = tmp_path / "run"
    ov = dict(SEG, eta_f="1000", beta="0")
    with pytest.raises(DivergenceError) as info:
        run_protocol("autoencoder", quick=True, overrides=ov, seed=1, out=out, report=False)
    assert "non-finite" in str(info.value) or "fired at" in str(info.value)
    saved = results.load(out)
    assert saved.metrics["status"] == "diverged"
    assert 0 < saved.metrics["t_diverged_s"] <= 2.75
    assert any(k.endswith("spike_steps") for k in saved.arrays)  # what was recorded is kept
    # the command line says so and exits with status 3
    proc = run_cli("run", "autoencoder", "--quick", *sum((["--set", f"{k}={v}"] for k, v in
                                                          ov.items()), []),
                   "--out", str(tmp_path / "cli"))
    assert proc.returncode == 3 and "diverged" in proc.stderr


def _serial(seed):
    res = run_protocol("autoencoder", quick=True, overrides=dict(SEG, checkpoint_every="0*second",
                                                                 duration="1*second"),
                       seed=seed, report=False)
    return res.arrays["W_final"], res.arrays["spike_steps"]


def test_four_parallel_runs_match_their_serial_twins():
    seeds = [21, 22, 23, 24]
    with mp.get_context("spawn").Pool(4) as pool:
        parallel = pool.map(_serial, seeds)
    for seed, (W, steps) in zip(seeds, parallel):
        W_s, steps_s = _serial(seed)
        np.testing.assert_array_equal(W, W_s)
        np.testing.assert_array_equal(steps, steps_s)


def test_sweep_compiles_once_and_points_match_single_runs(tmp_path):
    from locallearn.sweep import run_sweep

    sets = dict(duration="1*second", t_test="0.3*second", t_before="0.1*second",
                fano_trials="0")
    table = run_sweep("autoencoder", ["eta_f=0.01,0.04", "seed=1,2"], tmp_path / "sw",
                      quick=True, sets=sets, progress=False)
    assert len(table) == 4 and set(table.columns) >= {"eta_f", "seed",
                                                      "weight_distance_final"}
    assert len(set(table.weight_distance_final.round(12))) == 4
    on_disk = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert len(on_disk) == 4
    for _, row in table.iterrows():
        single = run_protocol("autoencoder", quick=True, seed=int(row.seed), report=False,
                              overrides=dict(sets, eta_f=row.eta_f))
        point = results.load(tmp_path / "sw" / f"point_{int(row.point):04d}")
        np.testing.assert_array_equal(point.arrays["W_final"], single.arrays["W_final"])
        assert float(point.config["sweep_point"]["eta_f"]) == row.eta_f


def test_sweep_through_a_dask_scheduler(tmp_path):
    distributed = pytest.importorskip("distributed")
    from locallearn.sweep import run_sweep

    sets = dict(duration="0.5*second", t_test="0.2*second", t_before="0.1*second",
                fano_trials="0")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        table = run_sweep("autoencoder", ["beta=0.5,1.0"], tmp_path / "sw", quick=True,
                          sets=sets, workers=2, scheduler=cluster.scheduler_address,
                          device="numpy", progress=False)
    assert len(table) == 2
    scales = table.set_index("beta").weight_scale
    assert scales[1.0] < scales[0.5]  # the points really ran with their own beta
    for i in range(2):
        assert (tmp_path / "sw" / f"point_{i:04d}" / "metrics.json").exists()


def test_rate_protocol_divergence_is_reported(tmp_path):
    """Protocols without rerun hooks: non-finite recordings stop with status diverged."""
    out = tmp_path / "chain"
    ov = dict(optimizer="gd", eta="1e9*Hz", t_train="20*second", t_test="5*second",
              loss_window="10*second", loss_bin="5*second",
              methods="gle", method="gle")
    with pytest.raises(DivergenceError, match="non-finite"):
        run_protocol("chain", quick=True, overrides=ov, device="numpy", seed=1, out=out,
                     report=False)
    assert results.load(out).metrics["status"] == "diverged"
