"""The Brian2 rate model (models/rate.py): the documented discrete scheme, the composed strings,
and bad input."""

import numpy as np
import pytest
from brian2 import second, StateMonitor

from conftest import run_cli
from locallearn import devices
from locallearn.analysis import adjoint as A
from locallearn.errors import ConfigError
from locallearn.models import rate
from locallearn.protocol import make_config


def _net(sizes, rng, eta=0.0, fb="transpose"):
    W, b = rate.initial_weights(sizes, rng)
    N = len(sizes) - 1
    tau_m = [None] + [rng.uniform(0.3, 2.0, sizes[l]) for l in range(1, N + 1)]
    tau_r = [None] + [np.minimum(tau_m[l], rng.uniform(0.05, 1.0, sizes[l]))
                      for l in range(1, N + 1)]
    B = [None, None] + [W[l].T.copy() if fb == "transpose"
                        else rng.uniform(-1, 1, W[l].T.shape) for l in range(2, N + 1)]
    return rate.Replica(name="net", W=W, b=b, tau_m=tau_m, tau_r=tau_r,
                        eta=[None] + [eta] * N, eta_b=[None] + [eta] * N,
                        eta_tau=[None] + [0.0] * N, B=B)


INPUT = "r_s = sin(2*pi*0.7*t/second + idx) + 0.5*cos(3.1*t/second)"


def _run(model, rep, sizes, phis, T, dt=0.01, learn=False, device="numpy"):
    with devices.session(device) as sim:
        inp = rate.build_input(sizes[0], "idx : 1 (constant)\n", INPUT, dt * second, {},
                               values=dict(idx=np.arange(sizes[0], dtype=float)))
        g = rate.build_layers("t", model, sizes, phis, [rep], inp, dt * second, 0 * second,
                              (T if learn else 0.0) * second,
                              target_code="y_tgt = 0.3*sin(0.5*t/second)\nmask = 1.0")
        mons = [StateMonitor(L, ["r_s", "phip_s"], record=True, when="end") for L in g.layers]
        sim.run([inp] + g.objects + mons, T * second, report=False)
        out = dict(r=[np.asarray(m.r_s_).T.copy() for m in mons],
                   phip=[np.asarray(m.phip_s_).T.copy() for m in mons],
                   W=[np.asarray(s.w_[:]).copy() for s in g.forward],
                   B=[None if s is None else np.asarray(s.bw_[:]).copy() for s in g.backward])
    return out


def test_brian2_implements_the_documented_discrete_scheme():
    """Frozen weights: Brian2 (numpy target) and the NumPy scheme of analysis.adjoint agree to
    rounding error, layer by layer, for tanh, softplus and linear units."""
    rng = np.random.default_rng(1)
    sizes, phis = [2, 3, 2, 1], ["tanh", "softplus", "linear"]
    rep = _net(sizes, rng)
    m = rate.RateModel(operator="gle").resolved()
    T, dt = 3.0, 0.01
    got = _run(m, rep, sizes, phis, T, dt)
    t = np.arange(int(round(T / dt))) * dt
    x = np.stack([np.sin(2 * np.pi * 0.7 * t + k) + 0.5 * np.cos(3.1 * t) for k in range(2)], 1)
    ref = A.simulate_forward(x, rep.W, rep.b, rep.tau_m, rep.tau_r, [None] + phis, dt)
    for l in range(1, 4):
        np.testing.assert_allclose(got["r"][l - 1], ref["r"][l], rtol=0, atol=1e-12)
        np.testing.assert_allclose(got["phip"][l - 1], ref["phip"][l], rtol=0, atol=1e-12)


@pytest.mark.parametrize("operator", ["gle", "vle"])
def test_transpose_feedback_stays_the_transpose_and_random_stays_fixed(operator):
    """Mirrored updates keep B = W^T (to rounding: the two ODEs are the same expression with
    pre and post swapped); random feedback (fb_plastic = 0) does not move; weights do learn."""
    m = rate.RateModel(operator=operator, optimizer="adam", eta=0.5 * rate.Hz).resolved()
    sizes, phis = [2, 3, 1], ["tanh", "linear"]
    rep = _net(sizes, np.random.default_rng(2), eta=0.5)
    got = _run(m, rep, sizes, phis, 4.0, learn=True)
    W2 = rate.split_blocks(got["W"][1], 3, 1, 1)[0]
    B2 = got["B"][1].reshape(3, 1)
    assert np.max(np.abs(W2 - rep.W[2])) > 0.05  # learned
    np.testing.assert_allclose(B2, W2.T, rtol=0, atol=1e-12)
    rnd = _net(sizes, np.random.default_rng(2), eta=0.5, fb="random")
    rnd.fb_plastic = 0.0
    got = _run(m, rnd, sizes, phis, 2.0, learn=True)
    np.testing.assert_array_equal(got["B"][1].reshape(3, 1), rnd.B[2])


def test_resolved_strings_follow_operator_and_optimizer():
    vle = rate.RateModel(operator="vle", optimizer="gd").resolved()
    assert "dq/dt = (r_s_pre - q)/tau_s_post" in vle.forward_model
    assert "eps_s_post*(q + tau_r_post*(r_s_pre - q)/tau_s_post)" in vle.forward_model
    # the backward rule is the mirrored forward rule, gated by fb_plastic of the upper layer
    assert "dbq/dt = (r_s_post - bq) / tau_s_pre" in vle.backward_model
    assert "dbw/dt = fb_plastic_pre*(" in vle.backward_model
    assert "I_fb_post = bw*e_s_pre : 1 (summed)" in vle.backward_model
    gle = rate.RateModel(operator="gle", optimizer="adam").resolved()
    assert gle.error == "e_s = v + tau_m*(eps_s - v)/tau_r"
    assert "dw_m/dt" in gle.forward_model and "c1_post" in gle.forward_model
    inst = rate.RateModel(operator="instantaneous").resolved()
    assert inst.error == "e_s = eps_s"
    swap = {"a_pre": "a_post", "b_post": "b_pre", "a_post": "a_pre"}
    assert rate.rate_rules.rename_identifiers("a_pre*b_post + a_post", swap) == \
        "a_post * b_pre + a_pre"
    # a user's string survives resolution
    custom = rate.RateModel(operator="gle", weight_grad="e_s_post*r_s_pre*2").resolved()
    assert "e_s_post*r_s_pre*2" in custom.forward_model


def test_angle_between_B_and_W_transpose():
    W = np.array([[1.0, 0.0]])
    assert rate.angle_deg(W.T, W) == pytest.approx(0.0)
    assert rate.angle_deg(np.array([[0.0], [1.0]]), W) == pytest.approx(90.0)


@pytest.mark.parametrize("protocol, overrides, field", [
    ("chain", dict(method="bptt"), "method"),
    ("chain", dict(methods="gle,foo"), "methods"),
    ("chain", dict(methods="vle/random"), "methods"),
    ("chain", dict(dt="0.2*second"), "dt"),
    ("chain", dict(operator="adjoint"), "operator"),
    ("chain", dict(teacher_w="[1, nan]"), "teacher_w"),
    ("chain", dict(tau_min="200*second"), "tau_min"),
    ("chain", dict(eta="-1*Hz"), "eta"),
    ("chain", dict(loss_window="1e6*second"), "loss_window"),
    ("fourier_ts", dict(methods="vle/sideways"), "methods"),
    ("fourier_ts", dict(probe_len="60*second"), "probe_len"),
    ("fourier", dict(le_dt="20*ms"), "dt"),
    ("fourier", dict(le_hidden_phi="relu"), "le_hidden_phi"),
    ("fourier_ts", dict(output_phi="step"), "output_phi"),
    ("xor", dict(n_hidden="15"), "n_hidden"),
    ("xor", dict(dt="0.3*second"), "pulse"),
    ("xor", dict(dt="0.1*second"), "dt"),
    ("xor", dict(optimizer="sgd"), "optimizer"),
    ("xor", dict(tau_r_retro="1*second"), "tau_r_retro"),
    ("fourier_ts", dict(tau_r_retro="2*second"), "tau_r_retro"),
    ("chain", dict(tau_r="0.5*second"), "tau_r"),
])
def test_bad_input_names_the_parameter(protocol, overrides, field):
    with pytest.raises(ConfigError) as err:
        make_config(protocol, quick=True, overrides=overrides)
    assert str(err.value).startswith(field)


def test_bad_input_on_the_command_line_fails_before_compiling(tmp_path):
    proc = run_cli("run", "chain", "--quick", "--set", "method=bptt", "--out",
                   str(tmp_path / "x"), timeout=120)
    assert proc.returncode == 2
    assert "method" in proc.stderr and "gle" in proc.stderr
    assert not (tmp_path / "x").exists()
    proc = run_cli("run", "xor", "--quick", "--set", "dt=0.1*second", "--out",
                   str(tmp_path / "y"), timeout=120)
    assert proc.returncode == 2 and "dt" in proc.stderr and "tau_r_retro" in proc.stderr


def test_params_lists_the_rate_protocols():
    proc = run_cli("params", "fourier", timeout=120)
    assert proc.returncode == 0
    assert "le_model.eta" not in proc.stdout  # dotted paths are not listed
    assert "le_dt" in proc.stdout and "le_hidden_phi" in proc.stdout
    proc = run_cli("params", "fourier_ts", timeout=120)
    assert proc.returncode == 0
    assert "probe_len" in proc.stdout and "methods" in proc.stdout


def test_a_broken_equation_string_names_its_field():
    """Brian2's rejection of a user's string is reported before compiling, naming the field."""
    from locallearn.protocol import run_protocol

    with pytest.raises(ConfigError) as err:
        run_protocol("chain", quick=True, overrides=dict(weight_grad="e_s_post*r_s_pre*foo"),
                     report=False)
    assert "weight_grad" in str(err.value) and "foo" in str(err.value)
