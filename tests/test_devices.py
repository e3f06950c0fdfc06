"""Device sessions: preferences restored, build directories isolated."""

import multiprocessing as mp
import os

import numpy as np
import pytest

from locallearn import devices
from locallearn.errors import ConfigError
from locallearn.protocol import run_protocol

SHORT = dict(duration="1*second", t_test="0.3*second", t_before="0.1*second", fano_trials="0")


def test_sessions_restore_preferences():
    from brian2 import prefs, get_device

    before = prefs.codegen.target
    with devices.session("numpy"):
        assert prefs.codegen.target == "numpy"
    with devices.session("cpp_standalone") as sim:
        assert type(get_device()).__name__ == "CPPStandaloneDevice"
        assert os.path.isdir(sim.build_dir)
    assert prefs.codegen.target == before
    assert type(get_device()).__name__ == "RuntimeDevice"


def test_unknown_device():
    with pytest.raises(ConfigError, match="device"):
        devices.check_device("gpu")


def test_build_slots_are_exclusive(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALLEARN_BUILD_CACHE", str(tmp_path))
    with devices.build_slot("demo") as a, devices.build_slot("demo") as b:
        assert a != b
    with devices.build_slot("demo") as c:
        assert c == a  # released slots are reused (incremental builds)
    monkeypatch.setenv("LOCALLEARN_BUILD_CACHE", "0")
    with devices.build_slot("demo") as d:
        assert not d.startswith(str(tmp_path))
    assert not os.path.exists(d)  # fresh directories are removed


def _worker(seed):
    res = run_protocol("autoencoder", quick=True, overrides=SHORT, device="cpp_standalone",
                       seed=seed, report=False)
    return res.arrays["W_final"], res.arrays["spike_steps"]


def test_parallel_standalone_runs_match_serial_twins():
    """Two standalone runs at once in two processes, each in its own build slot."""
    seeds = [11, 12]
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        parallel = pool.map(_worker, seeds)
    for seed, (W, steps) in zip(seeds, parallel):
        W_serial, steps_serial = _worker(seed)
        np.testing.assert_array_equal(W, W_serial)
        np.testing.assert_array_equal(steps, steps_serial)
