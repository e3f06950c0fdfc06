"""The results store: save/load round trips, atomicity and refusals."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from locallearn import results
from locallearn.errors import ConfigError


def _result():
    return results.RunResult(
        protocol="demo", config=dict(dt="0.1 * msecond", N=3),
        metrics=dict(a=1.5, b=2, status="ok", c=float("nan")),
        tables=dict(t=pd.DataFrame(dict(x=[1.0, 2.0], name=["p", "q"]))),
        arrays=dict(W=np.arange(6.0).reshape(2, 3), s=np.array([1, 2, 3])))


def test_round_trip(tmp_path):
    out = tmp_path / "run"
    results.save(_result(), out)
    assert sorted(os.listdir(out)) == ["arrays.npz", "config.json", "metrics.json", "tables"]
    back = results.load(out)
    assert back.protocol == "demo" and back.config == dict(dt="0.1 * msecond", N=3)
    assert back.metrics["a"] == 1.5 and back.metrics["b"] == 2 and np.isnan(back.metrics["c"])
    pd.testing.assert_frame_equal(back.tables["t"], _result().tables["t"])
    np.testing.assert_array_equal(back.arrays["W"], _result().arrays["W"])
    with open(out / "metrics.json") as fh:
        json.load(fh)  # plain JSON (NaN written as a string)


def test_refuses_non_empty_directory_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        results.save(_result(), out)
    assert os.listdir(out) == ["keep.txt"]
    results.save(_result(), out, overwrite=True)
    assert "keep.txt" not in os.listdir(out)


def test_refuses_unwritable_location(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(ConfigError, match="writable"):
            results.check_output_dir(ro / "run")
    finally:
        ro.chmod(0o700)


def test_refuses_location_below_a_file(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(ConfigError, match="writable directory"):
        results.check_output_dir(tmp_path / "plain" / "run")


def test_no_partial_directory_on_failure(tmp_path, monkeypatch):
    out = tmp_path / "run"

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(RuntimeError):
        results.save(_result(), out)
    assert not out.exists()
    assert [p for p in os.listdir(tmp_path)] == []
