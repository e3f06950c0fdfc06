"""A model is one definition: rules own their strings and parameters, plugin files add rules that
work wherever a built-in name does, metrics come from what the network recorded."""

import json
import os

import numpy as np
import pytest
from brian2 import Hz

from conftest import REPO, run_cli
from locallearn import definitions, params
from locallearn.errors import ConfigError
from locallearn.models.spiking import NEURON_EQS, SpikingModel
from locallearn.protocol import make_config, run_protocol

PLUGIN = os.path.join(REPO, "docs", "examples", "postjump_rule.py")
SHORT = dict(duration="2*second", t_test="0.5*second", t_before="0.2*second", fano_trials="0",
             N="8")


def test_rule_parameters_behave_like_fields():
    cfg = make_config("dynamics", overrides={"eta_f": "0.02", "model.beta": "0.6"})
    assert cfg.model.eta_f == 0.02 and cfg.model.beta == 0.6
    assert float(cfg.model.eta_s / Hz ** 2) == 5.0  # the dynamics default, set by the protocol
    d = params.config_to_dict(cfg)
    assert d["model"]["eta_f"] == 0.02 and "rule_params" not in d["model"]
    back = params.config_from_dict(type(cfg), json.loads(json.dumps(d)))
    assert back.model.eta_f == 0.02 and back.model.beta == 0.6
    with pytest.raises(ConfigError, match="eta_f"):
        make_config("autoencoder", overrides={"eta_f": "-1"})


def test_rule_parameters_become_per_neuron_constants():
    m = SpikingModel(fast_rule="hebbian2012")
    eqs = m.neuron_equations()
    assert "eta_hebb : second ** -1 (constant)" in eqs and "eta_f :" not in eqs
    assert m.per_neuron_params() == ("K", "sigma_V", "eta_hebb", "eta_s")


def test_conflicting_units_and_bad_names_are_refused():
    from locallearn.definitions import Param
    from locallearn.models.spiking_rules import FastRule

    with pytest.raises(ConfigError, match="eta_f"):
        definitions.register(FastRule(name="clash", params=(Param("eta_f", 1 * Hz, "x",
                                                                  unit=Hz),)))
    with pytest.raises(ConfigError, match="identifier"):
        definitions.register(FastRule(name="2bad"))
    assert "clash" not in definitions.names("fast_rule")


def test_a_broken_plugin_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('nope')\n")
    out = tmp_path / "out"
    proc = run_cli("run", "autoencoder", "--plugin", str(bad), "--out", str(out))
    assert proc.returncode == 2 and "--plugin" in proc.stderr and "nope" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()
    proc = run_cli("params", "autoencoder", "--plugin", str(tmp_path / "missing.py"))
    assert proc.returncode == 2 and "--plugin" in proc.stderr


def test_unknown_rule_names_the_plugin_option(tmp_path):
    proc = run_cli("run", "autoencoder", "--set", "fast_rule=nosuch", "--out",
                   str(tmp_path / "o"))
    assert proc.returncode == 2 and "fast_rule" in proc.stderr and "plugin" in proc.stderr


def test_params_and_show_print_equations_in_full():
    proc = run_cli("params", "autoencoder", "--plugin", PLUGIN, "--set", "fast_rule=postjump")
    assert proc.returncode == 0, proc.stderr
    assert "<equations" not in proc.stdout
    assert "I_syn = I_ff + I_slow + K*plastic_s*Fe : hertz" in proc.stdout
    assert "gamma" in proc.stdout  # the plugin rule's own parameter
    proc = run_cli("show", "autoencoder", "--quick", "--plugin", PLUGIN, "--set",
                   "fast_rule=postjump", "--set", "gamma=0.7")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "w = w - eta_f_post*plastic_post*(V_post + gamma_post*w)" in text
    assert "gamma_post     0.7 (20 values)" in text
    assert "lam            50. Hz" in text


def test_halved_feedforward_drive_is_measured_as_it_ran(tmp_path):
    """Issue 11 acceptance: with I_syn edited to halve the feedforward drive, the reported
    balance equals the one recomputed from arrays.npz, V = drive_ff + drive_rec up to the
    noise, and the reconstruction from the default equations is flagged."""
    eqs = NEURON_EQS.replace("I_syn = I_ff +", "I_syn = 0.5*I_ff +")
    assert eqs != NEURON_EQS
    out = tmp_path / "half"
    res = run_protocol("autoencoder", quick=True, overrides=dict(SHORT, neuron_eqs=eqs),
                       out=str(out), report=False)
    a = np.load(out / "arrays.npz")
    ff, rec, V = a["drive_ff"], a["drive_rec"], a["V"]
    assert ff.shape == rec.shape == V.shape and V.shape[1] == 8 and len(a["t_drive"]) == len(V)
    x, y = ff - ff.mean(0), rec - rec.mean(0)
    corr = (x * y).sum(0) / np.sqrt((x * x).sum(0) * (y * y).sum(0))
    assert res.metrics["balance_correlation"] == pytest.approx(np.nanmean(corr), abs=1e-6)
    resid = V - ff - rec
    assert np.sqrt(np.mean(resid ** 2)) < 3 * 0.01  # sigma_V = 0.01: the noise alone
    assert res.metrics["membrane_residual_ok"]
    # the E/I split reconstructs F x from the default equations: off by the factor 1/2
    assert not res.metrics["reconstruction_ok"]
    assert res.metrics["reconstruction_error"] == pytest.approx(1.0, rel=0.05)


def test_default_model_passes_both_checks(tmp_path):
    res = run_protocol("autoencoder", quick=True, overrides=SHORT, report=False)
    assert res.metrics["membrane_residual_ok"] and res.metrics["reconstruction_ok"]
    assert res.metrics["reconstruction_error"] < 1e-9


def test_plugin_rule_runs_through_fig1(tmp_path):
    """A rule defined in a plugin file appears in the fastrules table and in Fig. 1E with no
    change to any protocol or figure (reduced size)."""
    out, cache = tmp_path / "figs", tmp_path / "runs"
    proc = run_cli("figures", "fig1", "--quick", "--plugin", PLUGIN, "--set", "N=8",
                   "--set", "duration=2*second", "--set", "t_test=0.5*second",
                   "--out", str(out), "--cache", str(cache))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "fig1.png").stat().st_size > 10_000 and (out / "fig1.pdf").exists()
    import pandas as pd

    fr = [d for d in os.listdir(cache) if d.startswith("fastrules")]
    summary = pd.read_parquet(cache / fr[0] / "tables" / "summary.parquet")
    rows = summary[summary.rule == "postjump"]
    assert len(rows) == 4 and set(rows.label) == {"2015 rule, post-jump V"}
    assert rows.best.sum() == 1 and set(rows.colour) == {"#d95f02"}
    cfg = json.load(open(cache / fr[0] / "config.json"))
    assert cfg["plugins"][0]["path"] == PLUGIN and cfg["model"]["N"] == 8


def test_anonymous_rule_joins_the_comparison(tmp_path):
    on_pre = ("w = w - eta_f_post*plastic_post*(V_post + 0.6*w)\nV_post += w")
    res = run_protocol("fastrules", quick=True,
                       overrides=dict(SHORT, rules="bd2015", fast_on_pre=on_pre,
                                      fast_rule_label="beta 0.6 as a literal"), report=False)
    s = res.tables["summary"]
    assert set(s.rule) == {"bd2015", "custom"}
    assert set(s[s.rule == "custom"].label) == {"beta 0.6 as a literal"}
    assert len(s[s.rule == "custom"]) == 4  # bd2015's quick grid: it reads eta_f
