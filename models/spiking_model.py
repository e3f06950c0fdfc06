"""Balanced spiking networks that learn (Bourdoukan & Denève, NIPS 2015): the equations and the
model record.

Derivations: ``docs/balanced-spiking.md`` (cited below as §N). The plasticity rules are
definitions of their own (`locallearn.models.spiking_rules`); the builders are in
`locallearn.models.spiking`.

Units: V, r, x, x_hat, e and the fast weights are dimensionless (V is measured in the units of x,
so the threshold is ||F_i||^2 / 2); c, A x, W_s and every current are in Hz; eta_s is in Hz^2.
All equations are integrated with forward Euler (Euler-Maruyama for the noise terms), the
discrete-time reference algorithm of §4.

The membrane V integrates ``I_syn`` (every input current except the fast jumps) and receives the
fast jumps W_f o through the ``fast`` synapses; ``drive_ff`` integrates the same ``I_syn`` with the
same leak, so the network itself records its feedforward drive: V = drive_ff + (W_f r) + noise
whenever the reset and the leak of r are those of V. Edit ``I_syn`` to change what drives V.
"""

import dataclasses

import numpy as np
from brian2 import Hz

from locallearn import definitions
from locallearn.definitions import RegisteredName
from locallearn.params import param, Choice, Range, POSITIVE, NONNEGATIVE
from locallearn.models import spiking_rules  # noqa: F401  (registers the built-in rules)
from locallearn.models.spiking_rules import FastRule, FALLBACK_COLOURS

__all__ = [
    "NEURON_EQS", "THRESHOLD_WTA", "THRESHOLD_PLAIN", "RESET", "SCHEDULE_CODE", "TARGET_EQS",
    "SINE_TARGET_EQS", "TARGET_SCHEDULE_CODE", "WTA_MODEL", "WTA_EVENT", "WTA_EXCESS_CODE",
    "WTA_EVENT_RESET", "WTA_EVENT_ON_PRE", "WTA_COUNTS", "WTA_EVERY", "WTA_ARBITER_EQS",
    "WTA_ARBITER_RESET", "WTA_ARGMAX_ON_PRE", "WTA_ARGMAX_MODEL", "FF_MODEL", "A_MODEL",
    "READOUT_MODEL", "FEEDBACK_MODEL", "NEURON_VARIABLES", "TARGET_VARIABLES", "BASE_PER_NEURON",
    "SpikingModel", "rule_params", "feedforward_weights", "optimal_fast_weights",
    "optimal_slow_weights", "initial_fast_weights", "command_sigma",
]

# ============================================================================================
# Equations
# ============================================================================================
#: Predictive-coding LIF neuron (§1, §3). The fast jumps W_f o arrive through ``fast``.
NEURON_EQS = """
dV/dt = -lam*V + I_syn + sigma_V*sqrt(2*lam)*xi : 1  # membrane (§1, §3)
ddrive_ff/dt = -lam*drive_ff + I_syn : 1   # feedforward drive: V without the fast jumps and noise
I_syn = I_ff + I_slow + K*plastic_s*Fe : hertz   # every input current but the fast jumps (§1, §3)
dr/dt = -lam*r : 1                  # filtered spike train; +1 per spike (§1)
I_ff : hertz                        # feedforward command current F_i . c (summed from target)
I_slow : hertz                      # slow recurrent current (W_s r)_i (summed, dynamics)
Fe : 1                              # error projected on F_i: F_i . (x - x_hat) (summed)
n_above : 1                         # other neurons with a larger excess V - T (summed, WTA)
plastic : 1                         # 1 while the fast rule learns (schedule)
plastic_s : 1                       # 1 while the slow rule learns and K feeds back (schedule)
probe : 1                           # 1 during an open-loop probe window (schedule)
T : 1 (constant)                    # threshold (||F_i||^2 + mu) / 2 (§1)
rank : 1 (constant)                 # tie-break order for the winner-take-all
K : hertz (constant)                # error-feedback gain during learning (§3)
sigma_V : 1 (constant)              # stationary std of the membrane noise
t_offset : second (constant)        # absolute time of this run's t = 0 (segmented runs)
"""

#: Exactly one spike per step: only the neuron whose excess no other neuron beats may fire
#: (§4, winner-take-all). ``n_above`` is one step old on every device (design.md).
THRESHOLD_WTA = "V > T and n_above < 0.5"
#: The one-spike rule as events (§4, "O(N) one spike per step"): neurons above threshold emit
#: an ``above`` event; only their rows of the ``wta`` synapses count who beats them. Same count,
#: from the same one-step-old excess, as `WTA_MODEL`; cost (neurons above threshold) x N.
WTA_EVENT = "V > T"
#: Stored at the start of each step (the state the summed count reads).
WTA_EXCESS_CODE = "excess_old = V - T"
#: Cleared for every neuron above threshold before its row counts.
WTA_EVENT_RESET = "n_above = 0"
#: on_pre of the ``wta`` synapses for ``above`` events: the presynaptic (above) neuron counts
#: the postsynaptic neurons whose old excess beats its own (ties: the lower rank wins).
WTA_EVENT_ON_PRE = ("n_above_pre += int(excess_old_post > excess_old_pre)"
                    " + int(excess_old_post == excess_old_pre)*int(rank_post < rank_pre)")
#: The one-spike rule as one argmax per step (§4, "O(N) one spike per step"): every neuron emits
#: an ``every`` event before it integrates; its one synapse to its block's arbiter keeps the
#: largest excess so far (ties: the lower rank), and the arbiter's winner comes back as
#: ``n_above = 0`` for the winner, 1 for the others. 3 N operations per step.
WTA_EVERY = "rank >= 0"
WTA_ARBITER_EQS = """
best : 1            # largest excess V - T of the block so far this step
best_rank : 1       # rank of the neuron that has it
"""
WTA_ARBITER_RESET = "best = -1e300\nbest_rank = -1"
WTA_ARGMAX_ON_PRE = """
better = int(V_pre - T_pre > best_post) + int(V_pre - T_pre == best_post)*int(rank_pre < best_rank_post)
best_post = (1 - better)*best_post + better*(V_pre - T_pre)
best_rank_post = (1 - better)*best_rank_post + better*rank_pre
"""
WTA_ARGMAX_MODEL = "n_above_post = int(abs(rank_post - best_rank_pre) > 0.5) : 1 (summed)"
#: Plain thresholding (every neuron above threshold fires; fails, §4).
THRESHOLD_PLAIN = "V > T"
#: The reset is the diagonal fast weight W_jj applied through ``fast``; only r jumps here.
RESET = "r += 1"

#: Schedule in absolute time t + t_offset: the fast rule learns in [fast_start, learn_end) (at
#: fast_ratio of its rate from learn_start on), the slow rule and the error feedback in
#: [learn_start, learn_end), except during the open-loop probe windows (the last probe_len of
#: every probe_every after learn_start).
SCHEDULE_CODE = """
probe = int(t + t_offset >= learn_start) * int((t + t_offset - learn_start) % probe_every >= probe_every - probe_len)
plastic = int(t + t_offset >= fast_start) * int(t + t_offset < learn_end) * (1 - probe) * (1 - (1 - fast_ratio) * int(t + t_offset >= learn_start))
plastic_s = int(t + t_offset >= learn_start) * int(t + t_offset < learn_end) * (1 - probe)
"""

#: Target system (§3): dx/dt = A x + c with an Ornstein-Uhlenbeck command c.
#: While ``hold`` is 1 the command is frozen (repeated-trial phase for the Fano factor).
TARGET_EQS = """
dx/dt = Ax + c : 1                                                     # target (§3)
dc/dt = (1 - hold)*(-c/tau_c + sigma_c*sqrt(2/tau_c)*xi) : hertz       # OU command
Ax : hertz                          # A x (summed)
xhat : 1                            # decoded output D r (summed from the neurons)
hold : 1                            # 1 while the command is frozen
sigma_c : hertz (constant)          # stationary std of the command
t_offset : second (constant)        # absolute time of this run's t = 0
"""
TARGET_SCHEDULE_CODE = "hold = int(t + t_offset >= hold_start)"

#: A deterministic alternative to `TARGET_EQS` (pass it as ``target_eqs``): channel d receives
#: the sine c_d = sqrt(2) sigma_c sin(2 pi (2 + d) Hz t) (channel 0 at 2 Hz, channel 1 at 3 Hz,
#: ...), written as an ODE so that it runs on every device, GeNN included. With
#: ``sigma_V = 0`` the whole network is deterministic: the input for comparing devices spike for
#: spike. x_d then has an rms of about sqrt(2) sigma_c / ``|lambda + 2 pi i f_d|`` (about 3.7 at the
#: autoencoder's defaults, close to its x_std = 3).
SINE_TARGET_EQS = """
dx/dt = Ax + c : 1                                                     # target (§3)
dc/dt = (1 - hold)*sqrt(2.0)*sigma_c*2*pi*(2 + i)*Hz*cos(2*pi*(2 + i)*Hz*t) : hertz  # sine command
Ax : hertz                          # A x (summed)
xhat : 1                            # decoded output D r (summed from the neurons)
hold : 1                            # 1 while the command is frozen
sigma_c : hertz (constant)          # rms of the command
t_offset : second (constant)        # absolute time of this run's t = 0
"""

#: Winner-take-all count (§4): reads only pre/post state variables (no i, j: GeNN subset).
WTA_MODEL = ("n_above_post = int(V_pre - T_pre > V_post - T_post)"
             " + int(V_pre - T_pre == V_post - T_post)*int(rank_pre < rank_post) : 1 (summed)")
#: Feedforward command current F c (§1).
FF_MODEL = "F : 1 (constant)\nI_ff_post = F*c_pre : hertz (summed)"
#: Target dynamics A x.
A_MODEL = "a : hertz (constant)\nAx_post = a*x_pre : hertz (summed)"
#: Readout x_hat = D r (§3), D = F^T.
READOUT_MODEL = "D : 1 (constant)\nxhat_post = D*r_pre : 1 (summed)"
#: Error feedback F e = F (x - x_hat) (§3).
FEEDBACK_MODEL = "Fb : 1 (constant)\nFe_post = Fb*(x_pre - xhat_pre) : 1 (summed)"

#: Variables the builder and the synapse models expect in ``neuron_eqs`` / ``target_eqs``.
#: The one-spike rule's ways of counting (`SpikingModel.wta_count`).
WTA_COUNTS = ("summed", "events", "argmax")

NEURON_VARIABLES = ("V", "r", "drive_ff", "I_ff", "I_slow", "Fe", "n_above", "plastic",
                    "plastic_s", "probe", "T", "rank", "K", "sigma_V", "t_offset")
TARGET_VARIABLES = ("x", "c", "Ax", "xhat", "hold", "sigma_c", "t_offset")

#: Model parameters stored per neuron besides the rules' own (replicas and compile-once reruns
#: vary them).
BASE_PER_NEURON = ("K", "sigma_V")


def rule_params():
    """{name: Param} of every parameter a registered fast or slow rule declares."""
    out = dict(definitions.declared_params("fast_rule"))
    for name, p in definitions.declared_params("slow_rule").items():
        out.setdefault(name, p)
    return out


def _referenced(strings, declared):
    """The parameters of ``declared`` that ``strings`` read as ``NAME_post`` (no rewriting: a
    lookup of Brian2's identifiers)."""
    ids = definitions.identifiers(*strings)
    return [p for n, p in declared.items() if f"{n}_post" in ids or n in ids]


# ============================================================================================
# Model configuration
# ============================================================================================
@dataclasses.dataclass(frozen=True)
class SpikingModel:
    """Parameters and equation strings of the balanced spiking network (§1-§5).

    The fast and slow rules are definitions (`locallearn.models.spiking_rules`); their own
    parameters (``eta_f``, ``beta``, ``eta_s``, ... or a plugin rule's) are set like fields
    (``--set eta_f=0.02``, ``model.with_params(eta_f=0.02)``, ``model.eta_f``) and become
    per-neuron constants of the network. Every equation string may be replaced; non-empty
    ``fast_model``/``fast_on_pre`` that differ from ``fast_rule``'s strings make an anonymous
    rule (label ``fast_rule_label``, default "custom").
    """

    # --- size ---
    N: int = param(20, "number of neurons", check=Range(1, 100000))
    J: int = param(2, "number of signal dimensions", check=Range(1, 1000))
    # --- neurons ---
    lam: object = param(50 * Hz, "leak rate lambda of V, r and x (§5)", unit=Hz,
                        check=POSITIVE)
    mu: float = param(0.0, "linear spike cost mu: T = (||F||^2 + mu)/2 (§1), dimensionless",
                      check=NONNEGATIVE)
    sigma_V: float = param(0.01, "stationary std of membrane noise, dimensionless (units of x)",
                           check=NONNEGATIVE)
    wta: bool = param(True, "exactly one spike per step (winner-take-all threshold, §4)")
    wta_count: str = param("summed", "how the one-spike rule counts: 'summed' (all pairs every "
                           "step, every device), 'events' (rows of neurons above threshold "
                           "only) or 'argmax' (one arbiter per block, 3 N per step); the last "
                           "two need custom events", check=Choice(*WTA_COUNTS))
    # --- plasticity (rules: locallearn.models.spiking_rules, or a plugin's) ---
    fast_rule: str = param("bd2015", "fast rule, a registered FastRule (bd2015, bd2015_clip, "
                           "hebbian2012, event2012, fixed, or a plugin's)",
                           check=RegisteredName("fast_rule"))
    fast_rule_label: str = param("", "label of an anonymous fast rule given as strings "
                                 "('' = 'custom')")
    slow_rule: str = param("hebbian_current", "slow rule, a registered SlowRule",
                           check=RegisteredName("slow_rule"))
    rule_params: dict = param({}, "values of the rules' own parameters", kind="params")
    fast_ratio: float = param(1.0, "fast learning rate while the slow rule learns, relative to "
                              "its rate in the head start phase, dimensionless",
                              check=Range(0, 1))
    K: object = param(0.0 * Hz, "error-feedback gain during learning (§3)", unit=Hz,
                      check=NONNEGATIVE)
    # --- equation strings ---
    neuron_eqs: str = param(NEURON_EQS, "neuron equations (the rules' parameters are appended "
                            "as per-neuron constants)")
    threshold: str = param("", "threshold condition ('' = WTA or plain, from wta)")
    reset: str = param(RESET, "reset statements")
    fast_model: str = param("", "fast synapse model ('' = from fast_rule)")
    fast_on_pre: str = param("", "fast synapse on_pre statements ('' = from fast_rule)")
    wta_model: str = param(WTA_MODEL, "winner-take-all synapse model")
    slow_model: str = param("", "slow synapse model and rule ('' = from slow_rule)")
    target_eqs: str = param(TARGET_EQS, "target-system equations")
    schedule_code: str = param(SCHEDULE_CODE, "neuron schedule (run_regularly each step)")

    # --- the rules' own parameters behave like fields ---
    def dynamic_params(self):
        """{name: field metadata} of the rules' parameters (see `locallearn.params.param`)."""
        return {n: p.meta() for n, p in rule_params().items()}

    def __getattr__(self, name):
        if name.startswith("_") or name == "rule_params":
            raise AttributeError(name)
        p = rule_params().get(name)
        if p is None:
            raise AttributeError(f"{type(self).__name__!r} has no field or rule parameter "
                                 f"{name!r}")
        return self.rule_params.get(name, p.default)

    def with_params(self, **changes):
        """Copy with fields and rule parameters (by name) changed."""
        fields = {f.name for f in dataclasses.fields(self)}
        dyn = {k: v for k, v in changes.items() if k not in fields}
        unknown = set(dyn) - set(rule_params())
        if unknown:
            raise TypeError(f"unknown fields or rule parameters: {', '.join(sorted(unknown))}")
        plain = {k: v for k, v in changes.items() if k in fields}
        return dataclasses.replace(self, rule_params=dict(self.rule_params, **dyn), **plain)

    # --- the rules in effect ---
    def fast_definition(self):
        """The `FastRule` in effect: the registered ``fast_rule``, or an anonymous rule when
        ``fast_model``/``fast_on_pre`` differ from its strings."""
        rule = definitions.get("fast_rule", self.fast_rule)
        model = self.fast_model or rule.model
        on_pre = self.fast_on_pre or rule.on_pre
        if (model, on_pre) == (rule.model, rule.on_pre):
            return rule
        used = _referenced([model, on_pre], rule_params())
        names = [p.name for p in used]
        rate = rule.rate_param if rule.rate_param in names else \
            ("eta_f" if "eta_f" in names else "")
        return FastRule(name="custom", label=self.fast_rule_label or "custom",
                        colour=FALLBACK_COLOURS[0], model=model, on_pre=on_pre,
                        params=tuple(used), rate_param=rate,
                        rates=rule.rates if rate == rule.rate_param else (),
                        quick_rates=rule.quick_rates if rate == rule.rate_param else (),
                        doc="anonymous rule given as strings", reference=rule.reference)

    def slow_definition(self):
        """The `SlowRule` in effect (``slow_model``, when given, replaces its strings)."""
        rule = definitions.get("slow_rule", self.slow_rule)
        if self.slow_model and self.slow_model != rule.model:
            used = _referenced([self.slow_model], rule_params())
            return dataclasses.replace(rule, name="custom_slow", model=self.slow_model,
                                       params=tuple(used))
        return rule

    def active_params(self):
        """The `Param` records of the fast and slow rules in effect (per-neuron constants)."""
        out = {}
        for p in self.fast_definition().params + self.slow_definition().params:
            out.setdefault(p.name, p)
        return list(out.values())

    def per_neuron_params(self):
        """Names of the values stored per neuron: K, sigma_V and the rules' parameters."""
        return BASE_PER_NEURON + tuple(p.name for p in self.active_params())

    def neuron_equations(self):
        """``neuron_eqs`` plus a per-neuron constant for each active rule parameter that the
        string does not declare itself."""
        from brian2 import Equations

        declared = set(Equations(self.neuron_eqs).names)
        extra = [f"{p.name} : {p.brian_unit()} (constant)  # {p.doc}"
                 for p in self.active_params() if p.name not in declared]
        if self.wta and self.wta_count == "events" and "excess_old" not in declared:
            extra.append("excess_old : 1  # V - T at the start of the step (one-spike events)")
        return self.neuron_eqs.rstrip() + "\n" + "\n".join(extra) + "\n"

    def resolved(self):
        """Copy with the strings the rules and ``wta`` select filled in, and the active rule
        parameters written out (their defaults where not set)."""
        fast = self.fast_definition()
        slow = self.slow_definition()
        values = {p.name: self.rule_params.get(p.name, p.default) for p in self.active_params()}
        return dataclasses.replace(
            self, threshold=self.threshold or (THRESHOLD_WTA if self.wta else THRESHOLD_PLAIN),
            fast_model=fast.model, fast_on_pre=fast.on_pre, slow_model=slow.model,
            rule_params=dict(self.rule_params, **values))


# ============================================================================================
# Weights (§1, §3, §5)
# ============================================================================================
def feedforward_weights(N, J, rng=None):
    """Feedforward weights F (N x J, dimensionless), unit-norm rows.

    J = 1: alternating +1/-1. J = 2: evenly spaced angles (§5). J > 2: directions drawn
    uniformly on the sphere (needs ``rng``).
    """
    if J == 1:
        return np.where(np.arange(N) % 2 == 0, 1.0, -1.0)[:, None]
    if J == 2:
        ang = 2 * np.pi * np.arange(N) / N
        return np.stack([np.cos(ang), np.sin(ang)], axis=1)
    rng = np.random.default_rng(0) if rng is None else rng
    F = rng.standard_normal((N, J))
    return F / np.linalg.norm(F, axis=1, keepdims=True)


def optimal_fast_weights(F, mu=0.0):
    """W_f* = -(F F^T + mu I) (§1), N x N, dimensionless; W[i, j] is post i, pre j."""
    F = np.asarray(F, float)
    return -(F @ F.T + mu * np.eye(len(F)))


def optimal_slow_weights(F, A, lam):
    """W_s* = F (A + lambda I) F^T (§3; Boerlin 2013), N x N, in Hz.

    ``A`` in Hz (array of floats meaning Hz), ``lam`` in Hz (float).
    """
    F = np.asarray(F, float)
    A = np.asarray(A, float)
    return F @ (A + lam * np.eye(A.shape[0])) @ F.T


def initial_fast_weights(N, rng, diag=-0.5, spread=0.2):
    """Initial fast weights W0 = -spread U(0, 1) + diag I (§5, Brendel), dimensionless."""
    return -spread * rng.uniform(0.0, 1.0, size=(N, N)) + diag * np.eye(N)


def command_sigma(A, tau_c, x_std):
    """Std sigma_c (Hz) of the OU command that gives the target x an rms std of ``x_std``.

    The joint process (c, x) with dc = -c/tau_c dt + sigma_c sqrt(2/tau_c) dW and dx/dt = A x + c
    is linear; its stationary covariance P solves the Lyapunov equation M P + P M^T + Q = 0 with
    M = [[-I/tau_c, 0], [I, A]] and Q = diag(2 sigma_c^2/tau_c I, 0). P scales with sigma_c^2,
    so sigma_c = x_std / sqrt(mean_d P_xx,dd at sigma_c = 1). For A = -lambda I this reduces to
    sigma_c = x_std sqrt(lambda (lambda + 1/tau_c)).

    Parameters
    ----------
    A : array (J x J), Hz
    tau_c : float, seconds
    x_std : float, dimensionless
    """
    A = np.atleast_2d(np.asarray(A, float))
    J = A.shape[0]
    M = np.block([[-np.eye(J) / tau_c, np.zeros((J, J))], [np.eye(J), A]])
    Q = np.zeros((2 * J, 2 * J))
    Q[:J, :J] = 2.0 / tau_c * np.eye(J)
    # M P + P M^T = -Q as one linear system (vec(M P + P M^T) = (M (x) I + I (x) M) vec(P));
    # (2J)^2 unknowns, small for the J of these tasks, and no scipy.linalg import (~0.3 s)
    eye = np.eye(2 * J)
    P = np.linalg.solve(np.kron(M, eye) + np.kron(eye, M), -Q.ravel()).reshape(2 * J, 2 * J)
    var_x = np.mean(np.diag(P)[J:])
    return float(x_std / np.sqrt(var_x))


