"""Packaging: the version, the licence and citation files, and a wheel that works outside the
source tree (slow: ``make test-wheel``)."""

import glob
import os
import re
import subprocess
import sys
import zipfile

import pytest

import locallearn
from locallearn.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(name):
    with open(os.path.join(REPO, name), encoding="utf-8") as fh:
        return fh.read()


def test_version_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"locallearn {locallearn.__version__}"


def test_version_through_python_m(tmp_path):
    out = subprocess.run([sys.executable, "-m", "locallearn", "--version"], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"locallearn {locallearn.__version__}"


def test_licence_citation_and_changelog_agree_with_the_package():
    assert "MIT License" in _read("LICENSE")
    assert re.search(r"^license = MIT$", _read("setup.cfg"), re.M)
    cff = _read("CITATION.cff")
    assert re.search(r"^cff-version: 1\.2\.0$", cff, re.M)
    assert re.search(rf"^version: {re.escape(locallearn.__version__)}$", cff, re.M)
    assert re.search(r"^license: MIT$", cff, re.M)
    # the changelog has a section for the release this version leads to
    release = re.match(r"\d+\.\d+\.\d+", locallearn.__version__).group(0)
    assert re.search(rf"^## \[(Unreleased\] \(|){re.escape(release)}", _read("CHANGELOG.md"),
                     re.M)


def _run(cmd, cwd, env, timeout=900):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    assert out.returncode == 0, (f"{' '.join(map(str, cmd))} exited {out.returncode}\n"
                                 f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


@pytest.mark.slow
def test_wheel_works_outside_the_source_tree(tmp_path):
    """Build sdist and wheel (``python -m build``: the wheel is built from the sdist), install the
    wheel into a fresh virtual environment and run a protocol and a figure from a directory that
    is not the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), REPO], cwd=tmp_path, env=env)
    wheels = glob.glob(str(dist / "locallearn-*.whl"))
    assert len(wheels) == 1, os.listdir(dist)
    assert glob.glob(str(dist / "locallearn-*.tar.gz"))
    names = zipfile.ZipFile(wheels[0]).namelist()
    for resource in ("locallearn/figures/style.mplstyle", "locallearn/models/spiking.py",
                     "locallearn/protocols/autoencoder.py", "locallearn/analysis/__init__.py"):
        assert resource in names, resource
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE")
               for n in names), "LICENSE not in the wheel"

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=env)
    py = str(venv / "bin" / "python")
    _run([py, "-m", "pip", "install", "-q", wheels[0]], cwd=tmp_path, env=env)

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run([py, "-c", "import locallearn, locallearn.figures.plot_utils as p; "
                  "print(locallearn.__file__); print(p.STYLE)"], cwd=work, env=env).stdout.split()
    assert str(venv) in where[0] and not where[0].startswith(REPO), where
    assert os.path.isfile(where[1]), where

    exe = str(venv / "bin" / "locallearn")
    version = _run([exe, "--version"], cwd=work, env=env).stdout.strip()
    assert version == f"locallearn {locallearn.__version__}"
    _run([exe, "run", "autoencoder", "--quick", "--out", "run-ae"], cwd=work, env=env)
    assert (work / "run-ae" / "metrics.json").is_file(), os.listdir(work / "run-ae")
    _run([exe, "figures", "fig1", "--quick", "--out", "figs"], cwd=work, env=env)
    for ext in ("png", "pdf"):
        assert glob.glob(str(work / "figs" / f"*.{ext}")), os.listdir(work / "figs")


@pytest.mark.parametrize("extra, expected", [([], False), (["--progress"], True)])
def test_progress_reports_off_when_output_is_not_a_terminal(monkeypatch, tmp_path, extra,
                                                            expected):
    """Under pytest stdout is captured (not a terminal): Brian2's report is off unless asked."""
    import locallearn.protocol as protocol
    import locallearn.sweep as sweep

    seen = {}

    class _Stop(Exception):
        pass

    def fake(*args, **kwargs):
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr(protocol, "run_protocol", fake)
    monkeypatch.setattr(sweep, "run_sweep", fake)
    with pytest.raises(_Stop):
        main(["run", "autoencoder", "--quick", "--out", str(tmp_path / "r"), *extra])
    assert seen.pop("report") is expected
    with pytest.raises(_Stop):
        main(["sweep", "autoencoder", "--grid", "seed=1,2", "--out", str(tmp_path / "s"), *extra])
    assert seen.pop("progress") is expected
