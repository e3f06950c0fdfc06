"""Rate rules as definitions: a plugin's error operator and feedback kind run in chain and xor;
the backward synapse is composed without rewriting user text, its gate holds for any spacing, and
strings whose meaning the composition would change are refused naming their field."""

import copy
import textwrap

import numpy as np
import pytest

from locallearn import definitions
from locallearn.errors import ConfigError
from locallearn.models import rate
from locallearn.protocol import make_config, run_protocol
from test_rate_model import _net, _run

PLUGIN = '''
from locallearn.models.rate_rules import ErrorOperator, Feedback

halfgle = ErrorOperator(
    name="halfgle", label="half-rate GLE", colour="#123456",
    error="e_s = v + tau_m*(eps_s - v)/tau_r", weight_grad="0.5*e_s_post*r_s_pre",
    bias_grad="0.5*e_s", tau_grad="-0.5*e_s*(s_s - u)/tau_m")
frozen = Feedback(name="frozen", label="frozen random B", initial="random", plastic=False)
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """Load the plugin above; the registry is restored afterwards."""
    monkeypatch.setattr(definitions, "_REGISTRY", copy.deepcopy(definitions._REGISTRY))
    monkeypatch.setattr(definitions, "_PLUGINS", [])
    monkeypatch.setenv(definitions.PLUGIN_ENV, "")
    path = tmp_path / "myrules.py"
    path.write_text(PLUGIN)
    return definitions.load_plugin(path)


def test_builtins_are_registered_with_labels_and_colours():
    assert definitions.names("error_operator")[:3] == ("instantaneous", "gle", "vle")
    assert definitions.names("feedback")[:3] == ("transpose", "random", "learned")
    assert definitions.names("optimizer")[:2] == ("gd", "adam")
    for kind in ("error_operator", "feedback"):
        for d in definitions.definitions(kind):
            assert d.label and d.colour.startswith("#") and d.doc
    assert rate.rate_rules.method_label("vle/random") == "VLE (ours), random B"


def test_a_plugin_operator_and_feedback_run_in_chain_and_xor(plugin):
    assert {d.name for d in plugin} == {"halfgle", "frozen"}
    cfg = make_config("chain", quick=True, overrides=dict(operator="halfgle"))
    assert cfg.model.operator == "halfgle"
    assert "0.5*e_s_post*r_s_pre" in cfg.model.resolved().forward_model
    res = run_protocol("chain", quick=True, device="numpy", report=False, overrides=dict(
        t_init="2*second", t_train="20*second", t_test="4*second", loss_window="4*second",
        record_dt="2*second", loss_bin="2*second", methods="gle,halfgle", method="halfgle"))
    m = res.metrics
    assert m["method"] == "halfgle" and np.isfinite(m["w_error_halfgle"])
    assert m["w_error_halfgle"] != m["w_error_gle"]
    res = run_protocol("xor", quick=True, device="numpy", report=False, overrides=dict(
        n_train="6", n_test="4", block="3", example_trials="1",
        methods="halfgle/frozen,vle", method="halfgle/frozen"))
    assert 0 <= res.metrics["accuracy_halfgle/frozen"] <= 1
    with pytest.raises(ConfigError, match="^methods"):
        make_config("xor", overrides=dict(methods="halfgle/sideways"))


def test_an_unknown_operator_names_the_field_and_lists_the_registered_ones(plugin):
    with pytest.raises(ConfigError) as err:
        make_config("chain", overrides=dict(operator="nope"))
    assert str(err.value).startswith("operator") and "halfgle" in str(err.value)


ODD_FORWARD = textwrap.dedent("""\
    dw/dt=lr_scale_post*eta_post*e_s_post*r_s_pre   :1   (clock-driven)


       I_ff_post=w*r_s_pre:1 (summed)
    """)
ODD_BACKWARD = ("dbw/dt=  fb_plastic_pre *(\tlr_scale_pre*eta_pre *e_s_pre*r_s_post )  :  1 "
                "(clock-driven)\n\n  I_fb_post  =  bw*e_s_pre : 1 (summed)\n")


@pytest.mark.parametrize("fields", [dict(forward_model=ODD_FORWARD),
                                    dict(forward_model=ODD_FORWARD, backward_model=ODD_BACKWARD)])
def test_the_gate_holds_for_any_spacing(fields):
    """A user's forward (and backward) rule with odd spacing and blank lines: random feedback
    (fb_plastic = 0) stays fixed while the weights learn, transpose feedback follows W."""
    m = rate.RateModel(operator="gle", optimizer="gd", **fields).resolved()
    assert "fb_plastic_pre" in m.backward_model
    sizes, phis = [2, 3, 1], ["tanh", "linear"]
    rnd = _net(sizes, np.random.default_rng(2), eta=0.5, fb="random")
    rnd.fb_plastic = 0.0
    got = _run(m, rnd, sizes, phis, 2.0, learn=True)
    np.testing.assert_array_equal(got["B"][1].reshape(3, 1), rnd.B[2])
    assert np.max(np.abs(got["W"][1] - rnd.W[2].ravel())) > 1e-3
    tr = _net(sizes, np.random.default_rng(2), eta=0.5)
    got = _run(m, tr, sizes, phis, 2.0, learn=True)
    np.testing.assert_allclose(got["B"][1], got["W"][1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("fields, field, words", [
    # a backward rule that never reads the gate: random feedback would learn
    (dict(backward_model="dbw/dt = lr_scale_pre*eta_pre*e_s_pre*r_s_post : 1 (clock-driven)\n"
                         "I_fb_post = bw*e_s_pre : 1 (summed)"), "backward_model", "fb_plastic"),
    # the gate added, not multiplied
    (dict(backward_model="dbw/dt = fb_plastic_pre + eta_pre*e_s_pre*r_s_post : 1 (clock-driven)"
                         "\nI_fb_post = bw*e_s_pre : 1 (summed)"), "backward_model", "fb_plastic"),
    (dict(backward_model="bw : 1"), "backward_model", "I_fb_post"),
    # a forward rule writing a summed variable the composition would drop
    (dict(forward_model="w : 1\nI_ff_post = w*r_s_pre : 1 (summed)\n"
                        "y_tgt_post = w : 1 (summed)"), "forward_model", "I_ff_post"),
    # a trace whose mirror name is already taken
    (dict(weight_grad="e_s_post*q", trace_eqs="dq/dt = -q/tau_s_post : 1 (clock-driven)\n"
                                              "dbq/dt = -bq/tau_s_post : 1 (clock-driven)"),
     "weight_grad/trace_eqs", "bq"),
])
def test_a_string_whose_meaning_would_change_is_refused(fields, field, words):
    with pytest.raises(ConfigError) as err:
        make_config("xor", quick=True, overrides=fields)
    msg = str(err.value)
    assert msg.startswith(field) and words in msg and "\n" not in msg


def test_a_comparison_keeps_the_users_synapse_strings():
    """Methods with different operators run as one union group; a user's forward and backward
    strings are kept there, not replaced by the union's composition."""
    from locallearn.protocols import rate_common as rc

    base = rate.RateModel(operator="gle", optimizer="gd", forward_model=ODD_FORWARD,
                          backward_model=ODD_BACKWARD)
    gp = rc.group_methods(base, ["gle", "vle/random"], lambda label, op, fb: None)[0]
    assert gp.model.forward_model == ODD_FORWARD and gp.model.backward_model == ODD_BACKWARD
    plain = rc.group_methods(rate.RateModel(optimizer="gd"), ["gle", "vle"],
                             lambda label, op, fb: None)[0]
    assert "sel_1_post*(eps_s_post" in plain.model.forward_model
    assert "dbq/dt" in plain.model.backward_model


def test_a_plugin_rules_parameter_is_set_like_a_field(tmp_path, monkeypatch):
    """A plugin operator's own parameter is a --set key; its value reaches the namespace."""
    monkeypatch.setattr(definitions, "_REGISTRY", copy.deepcopy(definitions._REGISTRY))
    monkeypatch.setattr(definitions, "_PLUGINS", [])
    monkeypatch.setenv(definitions.PLUGIN_ENV, "")
    path = tmp_path / "scaled.py"
    path.write_text(textwrap.dedent('''
        from locallearn.definitions import Param
        from locallearn.models.rate_rules import ErrorOperator

        scaledgle = ErrorOperator(
            name="scaledgle", error="e_s = v + tau_m*(eps_s - v)/tau_r",
            weight_grad="kscale*e_s_post*r_s_pre", bias_grad="kscale*e_s",
            tau_grad="-kscale*e_s*(s_s - u)/tau_m",
            params=(Param("kscale", 0.5, "gradient scale, dimensionless"),))
    '''))
    definitions.load_plugin(path)
    cfg = make_config("chain", quick=True, overrides=dict(operator="scaledgle", kscale="0.25"))
    assert cfg.model.namespace()["kscale"] == 0.25
    assert make_config("chain", quick=True,
                       overrides=dict(operator="scaledgle")).model.namespace()["kscale"] == 0.5
    with pytest.raises(ConfigError, match="kscale"):
        make_config("chain", overrides=dict(kscale="x"))
