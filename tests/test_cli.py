"""Command line: bad input gives one line naming the parameter, exit status 2, nothing written."""

import os

import pytest

from conftest import run_cli
from locallearn.cli import main

BAD = [
    (["run", "nope"], "protocol"),
    (["run", "autoencoder", "--device", "gpu"], "device"),
    (["run", "autoencoder", "--seed", "abc"], "--seed"),
    (["run", "autoencoder", "--seed", "-4"], "--seed"),
    (["run", "autoencoder", "--set", "nope=1"], "nope"),
    (["run", "autoencoder", "--set", "beta"], "--set"),
    (["run", "autoencoder", "--set", "dt=0"], "dt"),
    (["run", "autoencoder", "--set", "dt=-0.1*ms"], "dt"),
    (["run", "autoencoder", "--set", "dt=30*ms"], "dt"),
    (["run", "autoencoder", "--set", "dt=1*Hz"], "dt"),
    (["run", "autoencoder", "--set", "lam=0*Hz"], "lam"),
    (["run", "autoencoder", "--set", "tau_c=inf*ms"], "tau_c"),
    (["run", "autoencoder", "--set", "eta_f=nan"], "eta_f"),
    (["run", "autoencoder", "--set", "N=-3"], "N"),
    (["run", "autoencoder", "--set", "F=[[1,0],[0,1]]"], "F"),
    (["run", "autoencoder", "--set", "W_init=[1,2,3]"], "W_init"),
    (["run", "autoencoder", "--set", "fast_rule=oja"], "fast_rule"),
    (["run", "autoencoder", "--set", "fast_on_pre=foo_post += w"], "fast_model/fast_on_pre"),
    (["run", "autoencoder", "--set", "fast_on_pre=V_post += 1*mV"], "fast_model/fast_on_pre"),
    (["run", "autoencoder", "--set", "neuron_eqs=dV/dt = -V"], "neuron_eqs"),
    (["run", "autoencoder", "--set", "neuron_eqs=dV/dt = -V/ms : 1"], "neuron_eqs"),
    (["run", "autoencoder", "--set", "target_eqs=dx/dt = x : 1"], "target_eqs"),
    (["run", "autoencoder", "--set", "fast_on_pre=w = w +"], "fast_model/fast_on_pre"),
    (["run", "autoencoder", "--set", "J=0"], "J"),
    (["run", "autoencoder", "--set", "weights_dt=0.15*ms"], "weights_dt"),
    (["run", "autoencoder", "--set", "checkpoint_every=-1*second"], "checkpoint_every"),
    (["run", "dynamics", "--set", "A=[[1,0],[0,-1]]"], "A"),
    (["run", "dynamics", "--set", "A=[[1,2,3]]"], "A"),
    (["run", "dynamics", "--set", "A=[[-1,0],[0,inf]]"], "A"),
    (["run", "dynamics", "--set", "system=lorenz"], "system"),
    (["run", "dynamics", "--set", "probe_len=20*second"], "probe_len"),
    (["run", "dynamics", "--set", "K=-5*Hz"], "K"),
    (["run", "dynamics", "--set", "eta_s=5*Hz"], "eta_s"),
    (["run", "fastrules", "--set", "rules=bd2015,oja"], "rules"),
    (["run", "fastrules", "--set", "rates_bd2015=0.01,-1"], "rates_bd2015"),
]


@pytest.mark.parametrize("args,name", BAD, ids=[" ".join(a[1:]) for a, _ in BAD])
def test_bad_input(tmp_path, capsys, args, name):
    """In-process (fast): status 2, one line naming the parameter, nothing written."""
    out = tmp_path / "run"
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"locallearn: error: {name}"), lines[0]
    assert not out.exists()


@pytest.mark.parametrize("args", [BAD[0][0], BAD[8][0], BAD[18][0]])
def test_bad_input_subprocess(tmp_path, args):
    """The same through ``python -m locallearn``: no traceback, no Brian2 noise."""
    out = tmp_path / "run"
    proc = run_cli(*args, "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("locallearn: error: "), proc.stderr
    assert not out.exists()


def test_missing_out_and_existing_non_empty_out(tmp_path, capsys):
    assert main(["run", "autoencoder"]) == 2
    assert "--out" in capsys.readouterr().err
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    assert main(["run", "autoencoder", "--quick", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert os.listdir(out) == ["notes.txt"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", "autoencoder", "--quick", "--out", str(blocker / "run")]) == 2
    assert "writable directory" in capsys.readouterr().err


@pytest.mark.parametrize("args,name", [
    (["sweep", "autoencoder", "--grid", "eta_f"], "--grid"),
    (["sweep", "autoencoder"], "--grid"),
    (["sweep", "autoencoder", "--grid", "eta_f=0.01", "--workers", "0"], "--workers"),
    (["sweep", "autoencoder", "--grid", "nope=1,2"], "nope"),
    (["sweep", "autoencoder", "--grid", "seed=a,b"], "seed"),
    (["figures", "fig99"], "figures"),
    (["figures", "xor", "--jobs", "0"], "--jobs"),
    (["run", "--resume", "/nonexistent/run"], "--resume"),
    (["run", "autoencoder", "--resume", "/tmp"], "--resume"),
    (["params", "nope"], "protocol"),
])
def test_bad_input_of_other_commands(tmp_path, capsys, args, name):
    args = [a.replace("/tmp", str(tmp_path)) for a in args]
    if args[0] == "sweep":
        args += ["--out", str(tmp_path / "sweep")]
    assert main(args) == 2
    lines = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"locallearn: error: {name}"), lines
    assert not (tmp_path / "sweep").exists()


def test_params_and_list():
    proc = run_cli("params", "autoencoder")
    assert proc.returncode == 0
    assert "eta_f" in proc.stdout and "fast_on_pre" in proc.stdout
    proc = run_cli("list")
    assert proc.returncode == 0 and "autoencoder" in proc.stdout and "fig1" in proc.stdout
