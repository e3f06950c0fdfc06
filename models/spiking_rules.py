"""Plasticity rules of the balanced spiking networks, each one definition.

Derivations: ``docs/balanced-spiking.md`` (§2 the fast rules, §3 the slow rule). A rule owns its
Brian2 strings, its own parameters (declared per neuron in the network, so a compile-once sweep can
vary them), the synaptic variable that holds its weight (recorded), the weights it is measured
against, its label and colour, and its learning-rate grid for the comparison of Fig. 1E.

Write a new rule as another `FastRule` (or `SlowRule`) record, here or in a plugin file
(``--plugin FILE.py``); nothing else needs to change. In the strings, ``w`` is W_ij (post i,
pre j; the diagonal is the reset), ``_post`` variables are the postsynaptic neuron's (``V_post``,
``T_post``, ``r_post``, ``plastic_post`` and every parameter the rule declares, e.g.
``eta_f_post``), ``_pre`` the presynaptic neuron's. The fast synapse must deliver its jump with
``V_post += w`` (one ``+=`` per synapse object: the GeNN subset, docs/balanced-spiking.md §8).
"""

import dataclasses

import numpy as np
from brian2 import Hz

from locallearn.definitions import Definition, Param, names, register
from locallearn.params import NONNEGATIVE

__all__ = ["FastRule", "SlowRule", "ETA_F", "SLOW_MODEL", "FALLBACK_COLOURS", "BUILTIN"]

#: Colours given to rules that name none (plugins, anonymous rules), in order.
FALLBACK_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")


@dataclasses.dataclass(frozen=True)
class FastRule(Definition):
    """A fast (recurrent, on-spike) plasticity rule.

    model, on_pre : str
        The fast synapse's model and on-spike statements (Brian2 syntax).
    weight : str
        The synaptic variable holding W_ij (recorded in weight snapshots).
    rate_param : str
        The parameter that is its learning rate ('' : none; the rule is then not compared).
    rates, quick_rates : tuple of float
        Its learning-rate grid (in the parameter's unit) for Fig. 1E, full and ``--quick``.
    compare : bool
        Whether the comparison of fast rules (protocol ``fastrules``) includes it by default.
    reference : callable or None
        ``reference(F, mu) -> W`` (N x N, dimensionless): the weights its distance is measured
        against; None: the optimal -(F F^T + mu I) (docs/balanced-spiking.md §1).
    """

    KIND = "fast_rule"

    model: str = "w : 1"
    on_pre: str = "V_post += w"
    weight: str = "w"
    rate_param: str = ""
    rates: tuple = ()
    quick_rates: tuple = ()
    compare: bool = True
    reference: object = None

    def target_weights(self, F, mu=0.0):
        """The weights W[post, pre] this rule should learn (N x N, dimensionless)."""
        if self.reference is not None:
            return np.asarray(self.reference(np.asarray(F, float), mu), float)
        F = np.asarray(F, float)
        return -(F @ F.T + mu * np.eye(len(F)))

    @property
    def plastic(self):
        """Whether the rule changes its weight at all (something beyond a fixed ``w``)."""
        return self.model.strip() != f"{self.weight} : 1" or bool(self.rate_param)

    def grid(self, quick=False):
        """The learning-rate grid (in ``rate_param``'s unit) for a comparison."""
        return tuple(self.quick_rates or self.rates) if quick else tuple(self.rates)


@dataclasses.dataclass(frozen=True)
class SlowRule(Definition):
    """A slow (current-based) synapse and its rule: ``model`` must define the summed current
    ``I_slow_post = ... : hertz (summed)``; ``weight`` is the learned variable (Hz)."""

    KIND = "slow_rule"

    model: str = ""
    weight: str = "w_s"


#: The fast learning rate shared by the 2015 rules and the event-based 2012 rule.
ETA_F = Param("eta_f", 0.01, "fast learning rate, dimensionless (docs/balanced-spiking.md §2)",
              check=NONNEGATIVE)
_BETA = Param("beta", 0.5, "regulariser of the 2015 rule (1/2: reset -||F||^2), dimensionless",
              check=NONNEGATIVE)
_FULL_F = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16)
_QUICK_F = (0.01, 0.02, 0.04, 0.08)

register(FastRule(
    name="bd2015", label="2015 rule (eq. 2)", colour="#111111",
    cite="docs/balanced-spiking.md §2",
    model="w : 1",
    on_pre=("w = w - eta_f_post*plastic_post*(V_post + beta_post*w)  # eq. 2, pre-jump V\n"
            "V_post += w"),
    params=(ETA_F, _BETA), rate_param="eta_f", rates=_FULL_F, quick_rates=_QUICK_F,
    doc="Bourdoukan & Deneve 2015 eq. 2: dW_ij = -eta_f (V_i + beta W_ij) at each spike of j, "
        "V_i taken before the jump."))

register(FastRule(
    name="bd2015_clip", label="2015 rule, V clipped", colour="#2e8b57",
    cite="docs/balanced-spiking.md §2",
    model="w : 1",
    on_pre=("w = w - eta_f_post*plastic_post*(clip(V_post, -2*T_post, 2*T_post)"
            " + beta_post*w)  # eq. 2, V clipped to +-2T\n"
            "V_post += w"),
    params=(ETA_F, _BETA), rate_param="eta_f", rates=_FULL_F, quick_rates=_QUICK_F,
    compare=False,
    doc="The 2015 rule with the voltage it sees clipped to [-2T, 2T] [ours]. Inactive while "
        "the coding error is in its normal range (|V| < 2T); when strong error feedback "
        "K F e drives V far above threshold during supervised learning, the unclipped rule "
        "learns W ~ -V/beta from those voltages and runs away (measured for a 4-D system)."))

register(FastRule(
    name="event2012", label="2012 rule, event-based", colour="#8c8c8c",
    cite="docs/balanced-spiking.md §2",
    model="w : 1\nself_conn : 1 (constant)",
    on_pre=("w = w - eta_f_post*plastic_post*(beta_event_post*(V_post + mu*r_post) + w"
            " + mu*self_conn)\n"
            "V_post += w"),
    params=(ETA_F, Param("beta_event", 2.0, "regulariser of the event-based 2012 rule "
                         "(2: optimal reset), dimensionless", check=NONNEGATIVE)),
    rate_param="eta_f", rates=(0.0025, 0.005, 0.01, 0.02, 0.04, 0.08),
    quick_rates=(0.005, 0.01, 0.02, 0.04),
    doc="2012 comparison rule (b), event-based (Brendel 2020): at a spike of k, "
        "dW_:k = -eps (beta (V + mu r) + W_:k + mu e_k). With V taken before the jump its "
        "fixed point for the reset is -beta T, so beta_event = 2 gives -||F||^2 [derived]."))

register(FastRule(
    name="hebbian2012", label="2012 rule, continuous", colour="#c8a24a",
    cite="docs/balanced-spiking.md §2",
    model="dw/dt = -eta_hebb_post*plastic_post*V_post*r_pre : 1 (clock-driven)",
    on_pre="V_post += w",
    params=(Param("eta_hebb", 1.0 * Hz, "learning rate of the continuous 2012 rule", unit=Hz,
                  check=NONNEGATIVE),),
    rate_param="eta_hebb", rates=(0.25, 0.5, 1.0, 2.0, 4.0, 8.0), quick_rates=(0.5, 1, 2, 4),
    doc="2012 comparison rule (a), continuous Hebbian dW/dt = -eta V r^T."))

register(FastRule(name="fixed", label="fixed fast weights", colour="#7b3294",
                  model="w : 1", on_pre="V_post += w", compare=False,
                  doc="No fast plasticity (ablation)."))

#: Slow synapses and the current-based Hebbian rule dW_s,ij/dt = eta_s (F_i . e) r_j (§3).
SLOW_MODEL = """
dw_s/dt = eta_s_post*plastic_s_post*Fe_post*r_pre : hertz (clock-driven)  # slow rule (§3)
I_slow_post = w_s*r_pre : hertz (summed)                                # W_s r
"""

register(SlowRule(
    name="hebbian_current", label="current-based Hebbian rule", colour="#c0392b",
    cite="docs/balanced-spiking.md §3", model=SLOW_MODEL,
    params=(Param("eta_s", 0.0 * Hz ** 2, "slow learning rate (docs/balanced-spiking.md §3)",
                  unit=Hz ** 2, check=NONNEGATIVE),),
    doc="dW_s,ij/dt = eta_s (F_i . e) r_j: the error fed back through F times the presynaptic "
        "filtered train (Bourdoukan & Deneve 2015, section 2)."))

#: Names of the built-in fast and slow rules (registered above, before any plugin).
BUILTIN = names("fast_rule") + names("slow_rule")
