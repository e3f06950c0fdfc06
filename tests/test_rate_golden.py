"""Golden values of every built-in rate rule: one step (forward Euler, x + dt f(x)) of a network
of one unit per layer on the numpy target, from known state values, against the documented
equations (docs/latent-equilibrium.md §1.2-§1.4, §2; VLE: docs/vle.md) computed by hand here.

State that the step's commit reads (I_ff, the lower layer's rate) is set to the value it has after
the commit, so the numbers do not depend on the order in which Brian2 runs the commit and the
summed variables within the step.
"""

import numpy as np
import pytest
from brian2 import second

from locallearn import definitions, devices
from locallearn.models import rate

DT = 0.01            # s
R_IN = 0.7           # input rate (constant)
ETA, ETA_B, ETA_TAU = 0.4, 0.3, 0.2   # Hz, Hz, dimensionless
TAU1, TAU2, EPS = 0.1, 10.0, 1e-8      # Adam defaults of RateModel (s, s, dimensionless)
# output layer (linear): state before the step
OUT = dict(u=0.2, v=0.1, phip_s=0.9, r_s=0.3, y_tgt=0.8, mask=1.0, b=0.05, tau_m=1.5,
           tau_r=0.5, z=0.1)
W_OUT, Q0, WM0, WV0 = 0.6, 0.2, 0.02, 0.001
# hidden layer (tanh) of the two-layer network
HID = dict(u=0.1, b=0.02, tau_m=1.2, tau_r=0.4)
W_HID = -0.5


def _replica(N, fb=None):
    layers = [OUT] if N == 1 else [HID, OUT]
    W = [None] + [np.array([[w]]) for w in ([W_OUT] if N == 1 else [W_HID, W_OUT])]
    rep = rate.Replica(name="g", W=W, b=[None] + [np.array([L["b"]]) for L in layers],
                       tau_m=[None] + [np.array([L["tau_m"]]) for L in layers],
                       tau_r=[None] + [np.array([L["tau_r"]]) for L in layers],
                       eta=[None] + [ETA] * N, eta_b=[None] + [ETA_B] * N,
                       eta_tau=[None] + [ETA_TAU] * N, B=[None] * (N + 1))
    if fb is not None:
        f = fb.replica_fields(W[2].T, np.array([[0.25]]), 0.5)
        rep.B[2], rep.kappa, rep.fb_plastic = f["B"], f["kappa"], f["fb_plastic"]
        rep.fb_local = f["fb_local"]
    return rep


def _step(model, N=1, fb=None, hidden_rate=None, hidden=None):
    """One step of the (resolved) model; returns the state after it (``hidden``: extra state
    of the hidden layer before the step)."""
    m = model.resolved()
    rep = _replica(N, fb)
    with devices.session("numpy") as sim:
        inp = rate.build_input(1, "", "r_s = 0.7", DT * second, {})
        inp.r_s = R_IN
        g = rate.build_layers("g", m, [1] * (N + 1), (["tanh"] if N == 2 else []) + ["linear"],
                              [rep], inp, DT * second, 0 * second, 1 * second,
                              target_code="")
        out, syn = g.layers[-1], g.forward[-1]
        for k in ("u", "v", "phip_s", "r_s", "y_tgt", "mask"):
            setattr(out, k, OUT[k])
        out.z_ = OUT["z"]   # Hz
        pre_rate = R_IN if N == 1 else hidden_rate
        out.I_ff = W_OUT * pre_rate
        if N == 2:
            hid = g.layers[0]
            hid.u, hid.I_ff, hid.r_s = HID["u"], W_HID * R_IN, hidden_rate
            for k, v in (hidden or {}).items():
                setattr(hid, k, v)
        if "q" in syn.variables:
            syn.q = Q0
        if "w_m" in syn.variables:
            syn.w_m, syn.w_v = WM0, WV0
        sim.run([inp] + g.objects, DT * second, report=False)
        got = {k: float(getattr(out, k + "_")[0]) for k in ("u", "v", "e_s", "eps_s", "b",
                                                            "tau_m", "r_s", "z")}
        got["w"] = float(syn.w_[0])
        for k in ("q", "w_m", "w_v"):
            if k in syn.variables:
                got[k] = float(getattr(syn, k + "_")[0])
        if N == 2:
            got["bw"] = float(g.backward[1].bw_[0])
            got["r_hid"] = float(g.layers[0].r_s_[0])
    return got


def _out_commit(operator, pre_rate=R_IN):
    """The output layer's commit by hand (§2): eps, s, e, u_p."""
    o = OUT
    eps = o["phip_s"] * 1.0 * o["mask"] * (o["y_tgt"] - o["r_s"])   # beta = 1
    s = W_OUT * pre_rate + o["b"]                                     # gamma = 0
    e = eps if operator == "instantaneous" else o["v"] + o["tau_m"] * (eps - o["v"]) / o["tau_r"]
    u_p = o["u"] + o["tau_r"] * (s - o["u"]) / o["tau_m"]
    return eps, s, e, u_p


def _close(got, want):
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-15), k


@pytest.mark.parametrize("operator", ["instantaneous", "gle", "vle"])
def test_error_operator_one_step(operator):
    """Error, membrane, error neuron, weight, bias and tau_m after one step (optimizer gd)."""
    got = _step(rate.RateModel(operator=operator, optimizer="gd", eta_tau=ETA_TAU))
    eps, s, e, u_p = _out_commit(operator)
    o = OUT
    du = (s - o["u"]) / o["tau_m"]
    if operator == "vle":   # docs/vle.md (M2)-(M4): raw error times the presynaptic traces
        g_w = eps * (Q0 + o["tau_r"] * (R_IN - Q0) / o["tau_m"])
        g_b = eps
        g_tau = -eps * (o["z"] + o["tau_r"] * (du - o["z"]) / o["tau_m"])
    else:                   # §1.4: dW = eta e r^T, db = eta e, dtau_m = -eta e du/dt
        g_w, g_b, g_tau = e * R_IN, e, -e * du
    want = dict(eps_s=eps, e_s=e, r_s=u_p, u=o["u"] + DT * du,
                v=o["v"] + DT * (eps - o["v"]) / o["tau_r"],
                w=W_OUT + DT * ETA * g_w, b=o["b"] + DT * ETA_B * g_b,
                tau_m=o["tau_m"] + DT * ETA_TAU * g_tau)
    if operator == "vle":
        want["q"] = Q0 + DT * (R_IN - Q0) / o["tau_m"]
        want["z"] = o["z"] + DT * (du - o["z"]) / o["tau_m"]
    _close(got, want)


def test_adam_one_step():
    """Continuous-time Adam (docs/latent-equilibrium.md §2): moments relax to g and g^2, the step
    reads the old moments with the bias corrections c1 = dt/tau_adam1, c2 = dt/tau_adam2 of the
    first step."""
    got = _step(rate.RateModel(operator="gle", optimizer="adam"))
    _, _, e, _ = _out_commit("gle")
    g = e * R_IN
    c1, c2 = 1 - (1 - DT / TAU1), 1 - (1 - DT / TAU2)
    _close(got, dict(w_m=WM0 + DT * (g - WM0) / TAU1, w_v=WV0 + DT * (g ** 2 - WV0) / TAU2,
                     w=W_OUT + DT * ETA * (WM0 / c1) / (np.sqrt(WV0 / c2) + EPS)))


def test_gd_is_plain_gradient_flow():
    got = _step(rate.RateModel(operator="instantaneous", optimizer="gd"))
    _, _, e, _ = _out_commit("instantaneous")
    _close(got, dict(w=W_OUT + DT * ETA * e * R_IN))


@pytest.mark.parametrize("feedback", ["transpose", "random", "learned"])
def test_feedback_one_step(feedback):
    """B after one step: transpose gets W's update (stays W^T), random does not move, learned
    gets the update plus the Kolen-Pollack decay -kappa B (W gets -kappa W), kappa = 0.5 Hz."""
    fb = definitions.get("feedback", feedback)
    h = HID
    s1 = W_HID * R_IN + h["b"]
    r1 = float(np.tanh(h["u"] + h["tau_r"] * (s1 - h["u"]) / h["tau_m"]))
    got = _step(rate.RateModel(operator="gle", optimizer="gd"), N=2, fb=fb, hidden_rate=r1)
    _, _, e, _ = _out_commit("gle", pre_rate=r1)
    g = e * r1
    kappa = 0.5 if feedback == "learned" else 0.0
    B0 = W_OUT if feedback == "transpose" else 0.25
    want_w = W_OUT + DT * (ETA * g - kappa * W_OUT)
    want_b = B0 if feedback == "random" else B0 + DT * (ETA * g - kappa * B0)
    _close(got, dict(w=want_w, bw=want_b))
    if feedback == "random":
        assert got["bw"] == B0


def test_pal_one_step():
    """PAL (docs/vle.md §3) with pal_sigma = 0: the hidden layer's OU noise decays by
    exp(-dt/tau_xi) and enters u_p; B moves by dt eta_pal (n hp(s_out) - alpha B) with the
    upper layer's input s_out and its (unmoved, tau_hp huge) low-pass; W gets no decay."""
    fb = definitions.get("feedback", "pal")
    p = {q.name: q.default for q in fb.params}
    n0, tau_xi = 0.4, float(p["tau_xi"] / second)
    eta_pal, alpha = float(p["eta_pal"] * second), p["pal_alpha"]
    a = np.exp(-DT / tau_xi)
    h = HID
    u_p = h["u"] + h["tau_r"] * (W_HID * R_IN + h["b"] - h["u"]) / h["tau_m"]
    r1 = float(np.tanh(u_p + a * n0))
    model = rate.RateModel(operator="gle", optimizer="gd", feedback="pal",
                           rule_params=dict(pal_sigma=0.0, tau_hp=1e12 * second))
    # lr_scale as the previous step's schedule left it (the noise line runs before the schedule)
    got = _step(model, N=2, fb=fb, hidden_rate=r1, hidden=dict(n_pal=n0, lr_scale=1.0))
    assert got["r_hid"] == pytest.approx(r1, rel=1e-12)
    _, s_out, e, _ = _out_commit("gle", pre_rate=r1)
    B0 = 0.25
    want_b = B0 + DT * eta_pal * (a * n0 * (s_out - 0.0) - alpha * B0)
    _close(got, dict(w=W_OUT + DT * ETA * e * r1, bw=want_b))
