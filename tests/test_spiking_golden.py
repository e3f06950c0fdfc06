"""Golden values of every built-in spiking rule: one presynaptic spike (or one step) at known V, w,
r gives the exact new weight, computed by hand from the rule's equation
(docs/balanced-spiking.md §2, §3), on the numpy target.

The harness builds one presynaptic and one postsynaptic neuron around the rule's *own* strings
(from its definition), so a test fails when a definition's strings stop meaning its equation.
"""

import numpy as np
import pytest
from brian2 import Hz, ms

from locallearn import definitions
from locallearn.devices import session
from locallearn.models.spiking import rule_params

DT = 0.1 * ms
#: Units of the neuron variables the rules read (besides the rules' own parameters).
BASE_UNITS = dict(V="1", T="1", plastic="1", plastic_s="1", r="1", Fe="1", I_slow="hertz")


def _declarations(names):
    units = dict(BASE_UNITS, **{n: p.brian_unit() for n, p in rule_params().items()})
    return "\n".join(f"{n} : {units[n]}" for n in sorted(names))


def one_spike(model, on_pre, post, pre, syn, namespace=None, steps=1):
    """Run ``steps`` steps of dt = 0.1 ms with a presynaptic spike in the first; returns the
    synapse's and the postsynaptic neuron's variables (dicts of floats, SI units)."""
    from brian2 import NeuronGroup, Network, Synapses

    ids = definitions.identifiers(model, on_pre)
    post_names = {i[:-5] for i in ids if i.endswith("_post")}
    pre_names = {i[:-4] for i in ids if i.endswith("_pre")}
    with session("numpy"):
        from brian2 import defaultclock

        defaultclock.dt = DT
        g_pre = NeuronGroup(1, _declarations(pre_names | {"r"}), threshold="t < 0.5*dt",
                            reset="", method="euler")
        g_post = NeuronGroup(1, _declarations(post_names | {"V"}), method="euler")
        s = Synapses(g_pre, g_post, model, on_pre=on_pre, method="euler",
                     namespace=dict(namespace or {}))
        s.connect()
        for k, v in pre.items():
            setattr(g_pre, k, v)
        for k, v in post.items():
            setattr(g_post, k, v)
        for k, v in syn.items():
            setattr(s, k, v)
        Network(g_pre, g_post, s).run(steps * DT, namespace={})
        syn_names = [k for k in syn] + [k for k in s.equations.names if k not in syn]
        return ({k: float(np.asarray(s.variables[k].get_value())[0]) for k in syn_names},
                {k: float(np.asarray(g_post.variables[k].get_value())[0]) for k in post_names
                 | {"V"}})


def fast(name):
    return definitions.get("fast_rule", name)


def test_bd2015_one_spike():
    """dW_ij = -eta_f (V_i + beta W_ij) with V before the jump, then V += W (new)."""
    r = fast("bd2015")
    V0, w0, eta, beta = 0.3, -0.2, 0.05, 0.5
    syn, post = one_spike(r.model, r.on_pre, dict(V=V0, eta_f=eta, beta=beta, plastic=1.0),
                          {}, dict(w=w0))
    w1 = w0 - eta * (V0 + beta * w0)
    assert syn["w"] == pytest.approx(w1, abs=1e-15)
    assert post["V"] == pytest.approx(V0 + w1, abs=1e-15)


def test_bd2015_is_gated_by_plastic():
    r = fast("bd2015")
    syn, post = one_spike(r.model, r.on_pre, dict(V=0.3, eta_f=0.05, beta=0.5, plastic=0.0),
                          {}, dict(w=-0.2))
    assert syn["w"] == -0.2 and post["V"] == pytest.approx(0.1, abs=1e-15)


@pytest.mark.parametrize("V0, seen", [(0.3, 0.3), (5.0, 1.0), (-7.0, -1.0)])
def test_bd2015_clip_one_spike(V0, seen):
    """The 2015 rule with V clipped to [-2T, 2T] (T = 0.5)."""
    r = fast("bd2015_clip")
    w0, eta, beta = -0.2, 0.05, 0.5
    syn, post = one_spike(r.model, r.on_pre,
                          dict(V=V0, T=0.5, eta_f=eta, beta=beta, plastic=1.0), {}, dict(w=w0))
    w1 = w0 - eta * (seen + beta * w0)
    assert syn["w"] == pytest.approx(w1, abs=1e-15)
    assert post["V"] == pytest.approx(V0 + w1, abs=1e-15)


@pytest.mark.parametrize("self_conn", [0.0, 1.0])
def test_event2012_one_spike(self_conn):
    """dW_:k = -eps (beta (V + mu r) + W_:k + mu e_k) at a spike of k."""
    r = fast("event2012")
    V0, w0, eta, be, mu, r_post = 0.3, -0.2, 0.05, 2.0, 0.1, 0.7
    syn, post = one_spike(r.model, r.on_pre,
                          dict(V=V0, eta_f=eta, beta_event=be, plastic=1.0, r=r_post), {},
                          dict(w=w0, self_conn=self_conn), namespace=dict(mu=mu))
    w1 = w0 - eta * (be * (V0 + mu * r_post) + w0 + mu * self_conn)
    assert syn["w"] == pytest.approx(w1, abs=1e-15)
    assert post["V"] == pytest.approx(V0 + w1, abs=1e-15)


def test_hebbian2012_one_step():
    """dW/dt = -eta V r_pre: one Euler step, then the spike's jump with the new weight."""
    r = fast("hebbian2012")
    V0, w0, eta, r_pre = 0.3, -0.2, 4.0 * Hz, 0.8
    syn, post = one_spike(r.model, r.on_pre, dict(V=V0, eta_hebb=eta, plastic=1.0),
                          dict(r=r_pre), dict(w=w0))
    w1 = w0 - float(DT * eta) * V0 * r_pre
    assert syn["w"] == pytest.approx(w1, abs=1e-15)
    assert post["V"] == pytest.approx(V0 + w1, abs=1e-15)


def test_fixed_only_jumps():
    r = fast("fixed")
    syn, post = one_spike(r.model, r.on_pre, dict(V=0.3), {}, dict(w=-0.2))
    assert syn["w"] == -0.2 and post["V"] == pytest.approx(0.1, abs=1e-15)
    assert not r.plastic


def test_hebbian_current_slow_rule_one_step():
    """dW_s/dt = eta_s plastic_s (F_i . e) r_j: one Euler step; I_slow = W_s r_pre (summed)."""
    r = definitions.get("slow_rule", "hebbian_current")
    w0, eta, Fe, r_pre = 2.0, 5.0 * Hz ** 2, 0.4, 0.8
    syn, post = one_spike(r.model, "", dict(eta_s=eta, plastic_s=1.0, Fe=Fe, I_slow=0 * Hz),
                          dict(r=r_pre), dict(w_s=w0 * Hz))
    w1 = w0 + float(DT * eta / Hz) * Fe * r_pre
    assert syn["w_s"] == pytest.approx(w1, rel=1e-14)
    # Brian2 computes summed variables before the state update of the step
    assert post["I_slow"] == pytest.approx(w0 * r_pre, rel=1e-14)


def test_every_builtin_rule_has_a_golden_test():
    """A rule added to models/ without a golden test here fails this test."""
    tested = {"bd2015", "bd2015_clip", "event2012", "hebbian2012", "fixed", "hebbian_current"}
    from locallearn.models.spiking_rules import BUILTIN

    assert set(BUILTIN) <= tested, set(BUILTIN) - tested
