"""The figure pipeline: protocol runs side by side, PNG and PDF written, results cached."""

import os

import pytest

from locallearn.errors import ConfigError
from locallearn.figures import FIGURES, make_figures


def test_figures_run_in_parallel_then_come_from_the_cache(tmp_path, capsys):
    out, cache = tmp_path / "figs", tmp_path / "runs"
    paths = make_figures(["chain", "xor"], quick=True, out=str(out), cache=str(cache), jobs=2,
                         progress=True)
    assert sorted(os.path.basename(p) for p in paths) == [
        "chain.pdf", "chain.png", "xor.pdf", "xor.png"]
    assert all(os.path.getsize(p) > 10_000 for p in paths)
    captured = capsys.readouterr()
    first = captured.out
    assert "protocol runs in 2 processes" in first
    assert "protocol runs: 100%" in captured.err and "figures: 100%" in captured.err  # tqdm
    runs = sorted(os.listdir(cache))
    assert [r.split("-")[0] for r in runs] == ["chain", "xor"]
    # a second call draws from the cached runs without simulating
    make_figures(["xor"], quick=True, out=str(out), cache=str(cache), jobs=2)
    captured = capsys.readouterr()
    second = captured.out
    assert "cached  xor" in second and "running" not in second
    assert "figures:" not in captured.err  # no bars unless asked
    assert sorted(os.listdir(cache)) == runs


def test_every_figure_declares_its_runs():
    for name, mod in FIGURES.items():
        specs = mod.runs(True)
        assert specs, name
        assert all(s.quick for s in specs.values()), name


def test_bad_jobs_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="--jobs"):
        make_figures(["xor"], out=str(tmp_path / "f"), jobs=0)
    assert not os.listdir(tmp_path)
