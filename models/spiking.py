"""Balanced spiking networks that learn (Bourdoukan & Denève, NIPS 2015), as Brian2 equations.

Spec: ``shared/specs/balanced-spiking.md`` (sections cited as "spec N").

One network serves both paper models. The autoencoder (spec 1, 2) is the dynamical-system learner
(spec 3) with A = -lambda I, K = 0 and no slow synapses (spec 4: "The autoencoder is the same loop
with A = -lambda I, K = 0, W_s = 0").

Groups and pathways (every one inside the Brian2 subset that brian2genn supports, see design.md):

``target`` (J units)
    The command c (Ornstein-Uhlenbeck noise), the target x (dx/dt = A x + c) and the decoded output
    x_hat = D r (summed from the neurons).
``neurons`` (N units)
    Leaky integrate-and-fire predictive-coding neurons: membrane V, filtered spike train r.
``ff``: target -> neurons, summed ``I_ff = F c``.
``A``: target -> target, summed ``Ax = A x``.
``fast``: neurons -> neurons (all pairs, the diagonal *is* the reset), on-spike jumps ``V += w``
    and the fast plasticity rule (spec 2).
``wta``: neurons -> neurons (i != j), summed ``n_above``: how many other neurons have a larger
    excess V - T. The threshold fires only the neuron with none above it (spec 4).
``readout``: neurons -> target, summed ``xhat = F^T r`` (dynamics only).
``feedback``: target -> neurons, summed ``Fe = F (x - xhat)`` (dynamics only).
``slow``: neurons -> neurons, summed ``I_slow = W_s r`` and the slow rule (spec 3, dynamics only).

Units: V, r, x, x_hat, e and the fast weights are dimensionless (V is measured in the units of x,
so the threshold is ||F_i||^2 / 2); c, A x, W_s and every current are in Hz; eta_s is in Hz^2.

All equations are integrated with forward Euler (Euler-Maruyama for the noise terms), which is the
discrete-time reference algorithm of spec 4.

Parameters that a compile-once sweep varies (``eta_f``, ``beta``, ``eta_s``, ``K``, ``sigma_V``,
``eta_hebb``, ``sigma_c``) are per-neuron (per-channel) constants, so a standalone binary can be
rerun with other values (``run_args``) without recompiling.
"""

import dataclasses

import numpy as np
from brian2 import Hz, second

from locallearn.params import param, Range, Choice, POSITIVE, NONNEGATIVE

__all__ = [
    "NEURON_EQS", "THRESHOLD_WTA", "THRESHOLD_PLAIN", "RESET", "SCHEDULE_CODE", "TARGET_EQS",
    "SINE_TARGET_EQS",
    "TARGET_SCHEDULE_CODE", "WTA_MODEL", "FF_MODEL", "A_MODEL", "READOUT_MODEL",
    "FEEDBACK_MODEL", "SLOW_MODEL", "FAST_RULES", "SynapseRule", "SpikingModel",
    "feedforward_weights", "optimal_fast_weights", "optimal_slow_weights",
    "initial_fast_weights", "command_sigma", "use_clock", "build_target", "build_population",
    "Target",
    "SpikingNetwork",
    "block_pairs", "block_values", "blocks_from_values", "target_values", "population_values",
    "apply_values", "variable_views",
]

# ============================================================================================
# Equations
# ============================================================================================
#: Predictive-coding LIF neuron (spec 1 and 3). The fast jumps W_f o arrive through ``fast``.
NEURON_EQS = """
dV/dt = -lam*V + I_ff + I_slow + K*plastic_s*Fe + sigma_V*sqrt(2*lam)*xi : 1  # membrane (spec 1, 3)
dr/dt = -lam*r : 1                  # filtered spike train; +1 per spike (spec 1)
I_ff : hertz                        # feedforward command current F_i . c (summed from target)
I_slow : hertz                      # slow recurrent current (W_s r)_i (summed, dynamics)
Fe : 1                              # error projected on F_i: F_i . (x - x_hat) (summed)
n_above : 1                         # other neurons with a larger excess V - T (summed, WTA)
plastic : 1                         # 1 while the fast rule learns (schedule)
plastic_s : 1                       # 1 while the slow rule learns and K feeds back (schedule)
probe : 1                           # 1 during an open-loop probe window (schedule)
T : 1 (constant)                    # threshold (||F_i||^2 + mu) / 2 (spec 1)
rank : 1 (constant)                 # tie-break order for the winner-take-all
eta_f : 1 (constant)                # fast learning rate (spec 2)
beta : 1 (constant)                 # fast-rule regulariser; beta = 1/2 gives reset -||F||^2
eta_hebb : hertz (constant)         # learning rate of the continuous 2012 rule
eta_s : hertz**2 (constant)         # slow learning rate (spec 3)
K : hertz (constant)                # error-feedback gain during learning (spec 3)
sigma_V : 1 (constant)              # stationary std of the membrane noise
t_offset : second (constant)        # absolute time of this run's t = 0 (segmented runs)
"""

#: Exactly one spike per step: only the neuron whose excess no other neuron beats may fire
#: (spec 4, winner-take-all). ``n_above`` is one step old on every device (design.md).
THRESHOLD_WTA = "V > T and n_above < 0.5"
#: Plain thresholding (every neuron above threshold fires; fails, spec 4).
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

#: Target system (spec 3): dx/dt = A x + c with an Ornstein-Uhlenbeck command c.
#: While ``hold`` is 1 the command is frozen (repeated-trial phase for the Fano factor).
TARGET_EQS = """
dx/dt = Ax + c : 1                                                     # target (spec 3)
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
#: spike. x_d then has an rms of about sqrt(2) sigma_c / |lambda + 2 pi i f_d| (about 3.7 at the
#: autoencoder's defaults, close to its x_std = 3).
SINE_TARGET_EQS = """
dx/dt = Ax + c : 1                                                     # target (spec 3)
dc/dt = (1 - hold)*sqrt(2)*sigma_c*2*pi*(2 + i)*Hz*cos(2*pi*(2 + i)*Hz*t) : hertz  # sine command
Ax : hertz                          # A x (summed)
xhat : 1                            # decoded output D r (summed from the neurons)
hold : 1                            # 1 while the command is frozen
sigma_c : hertz (constant)          # rms of the command
t_offset : second (constant)        # absolute time of this run's t = 0
"""

#: Winner-take-all count (spec 4): reads only pre/post state variables (no i, j: GeNN subset).
WTA_MODEL = ("n_above_post = int(V_pre - T_pre > V_post - T_post)"
             " + int(V_pre - T_pre == V_post - T_post)*int(rank_pre < rank_post) : 1 (summed)")
#: Feedforward command current F c (spec 1).
FF_MODEL = "F : 1 (constant)\nI_ff_post = F*c_pre : hertz (summed)"
#: Target dynamics A x.
A_MODEL = "a : hertz (constant)\nAx_post = a*x_pre : hertz (summed)"
#: Readout x_hat = D r (spec 3), D = F^T.
READOUT_MODEL = "D : 1 (constant)\nxhat_post = D*r_pre : 1 (summed)"
#: Error feedback F e = F (x - x_hat) (spec 3).
FEEDBACK_MODEL = "Fb : 1 (constant)\nFe_post = Fb*(x_pre - xhat_pre) : 1 (summed)"
#: Slow synapses and the current-based Hebbian rule dW_s,ij/dt = eta_s (F_i . e) r_j (spec 3).
SLOW_MODEL = """
dw_s/dt = eta_s_post*plastic_s_post*Fe_post*r_pre : hertz (clock-driven)  # slow rule (spec 3)
I_slow_post = w_s*r_pre : hertz (summed)                                # W_s r
"""


#: Variables the builder and the synapse models expect in ``neuron_eqs`` / ``target_eqs``.
NEURON_VARIABLES = ("V", "r", "I_ff", "I_slow", "Fe", "n_above", "plastic", "plastic_s",
                    "probe", "T", "rank",
                    "eta_f", "beta", "eta_hebb", "eta_s", "K", "sigma_V", "t_offset")
TARGET_VARIABLES = ("x", "c", "Ax", "xhat", "hold", "sigma_c", "t_offset")


def require_variables(group, names, field):
    """Raise `ConfigError` naming ``field`` if ``group`` lacks any of ``names``."""
    from locallearn.errors import ConfigError

    missing = [n for n in names if n not in group.variables]
    if missing:
        raise ConfigError(field, "must define the variables " + ", ".join(names)
                          + " (missing: " + ", ".join(missing) + ")")


#: Model parameters stored per neuron (so replicas and compile-once reruns can vary them).
PER_NEURON_PARAMS = ("eta_f", "beta", "eta_hebb", "eta_s", "K", "sigma_V")


@dataclasses.dataclass(frozen=True)
class SynapseRule:
    """A fast-synapse model: the ``model`` string and the ``on_pre`` statements."""

    model: str
    on_pre: str
    doc: str = ""


#: Fast plasticity rules (spec 2). ``w`` is W_ij (post i, pre j); the diagonal is the reset.
FAST_RULES = {
    "bd2015": SynapseRule(
        model="w : 1",
        on_pre=("w = w - eta_f_post*plastic_post*(V_post + beta_post*w)  # eq. 2, pre-jump V\n"
                "V_post += w"),
        doc="Bourdoukan & Deneve 2015 eq. 2: dW_ij = -eta_f (V_i + beta W_ij) at each spike of j, "
            "V_i taken before the jump (spec 2)."),
    "bd2015_clip": SynapseRule(
        model="w : 1",
        on_pre=("w = w - eta_f_post*plastic_post*(clip(V_post, -2*T_post, 2*T_post)"
                " + beta_post*w)  # eq. 2, V clipped to +-2T\n"
                "V_post += w"),
        doc="The 2015 rule with the voltage it sees clipped to [-2T, 2T] [ours]. Inactive while "
            "the coding error is in its normal range (|V| < 2T); when strong error feedback "
            "K F e drives V far above threshold during supervised learning, the unclipped rule "
            "learns W ~ -V/beta from those voltages and runs away (measured for a 4-D system)."),
    "hebbian2012": SynapseRule(
        model="dw/dt = -eta_hebb_post*plastic_post*V_post*r_pre : 1 (clock-driven)",
        on_pre="V_post += w",
        doc="2012 comparison rule (a), continuous Hebbian dW/dt = -eta V r^T (spec 2)."),
    "event2012": SynapseRule(
        model="w : 1\nself_conn : 1 (constant)",
        on_pre=("w = w - eta_f_post*plastic_post*(beta_event*(V_post + mu*r_post) + w"
                " + mu*self_conn)\n"
                "V_post += w"),
        doc="2012 comparison rule (b), event-based (Brendel 2020): at a spike of k, "
            "dW_:k = -eps (beta (V + mu r) + W_:k + mu e_k) (spec 2). With V taken before the jump "
            "its fixed point for the reset is -beta T, so beta_event = 2 gives -||F||^2 [derived]."),
    "fixed": SynapseRule(model="w : 1", on_pre="V_post += w",
                         doc="No fast plasticity (ablation)."),
}


# ============================================================================================
# Model configuration
# ============================================================================================
@dataclasses.dataclass(frozen=True)
class SpikingModel:
    """Parameters and equation strings of the balanced spiking network (spec 1-5).

    Every equation string may be replaced (``--set fast_on_pre="..."``); empty strings for
    ``fast_model``/``fast_on_pre`` mean "take them from ``fast_rule``".
    """

    # --- size ---
    N: int = param(20, "number of neurons", check=Range(1, 100000))
    J: int = param(2, "number of signal dimensions", check=Range(1, 1000))
    # --- neurons ---
    lam: object = param(50 * Hz, "leak rate lambda of V, r and x (spec 5)", unit=Hz,
                        check=POSITIVE)
    mu: float = param(0.0, "linear spike cost mu: T = (||F||^2 + mu)/2 (spec 1), dimensionless",
                      check=NONNEGATIVE)
    sigma_V: float = param(0.01, "stationary std of membrane noise, dimensionless (units of x)",
                           check=NONNEGATIVE)
    wta: bool = param(True, "exactly one spike per step (winner-take-all threshold, spec 4)")
    # --- fast plasticity (spec 2) ---
    fast_rule: str = param("bd2015", "fast rule: bd2015 | bd2015_clip | hebbian2012 | event2012 | fixed",
                           check=Choice(*FAST_RULES))
    eta_f: float = param(0.01, "fast learning rate (bd2015*, event2012), dimensionless",
                         check=NONNEGATIVE)
    beta: float = param(0.5, "bd2015 regulariser beta, dimensionless", check=NONNEGATIVE)
    beta_event: float = param(2.0, "event2012 regulariser (2 = optimal reset), dimensionless",
                              check=NONNEGATIVE)
    eta_hebb: object = param(1.0 * Hz, "hebbian2012 learning rate", unit=Hz, check=NONNEGATIVE)
    fast_ratio: float = param(1.0, "fast learning rate while the slow rule learns, relative to "
                              "eta_f (a head start phase learns at eta_f), dimensionless",
                              check=Range(0, 1))
    # --- slow plasticity and error feedback (spec 3) ---
    eta_s: object = param(0.0 * Hz ** 2, "slow learning rate", unit=Hz ** 2, check=NONNEGATIVE)
    K: object = param(0.0 * Hz, "error-feedback gain during learning", unit=Hz, check=NONNEGATIVE)
    # --- equation strings ---
    neuron_eqs: str = param(NEURON_EQS, "neuron equations")
    threshold: str = param("", "threshold condition ('' = WTA or plain, from wta)")
    reset: str = param(RESET, "reset statements")
    fast_model: str = param("", "fast synapse model ('' = from fast_rule)")
    fast_on_pre: str = param("", "fast synapse on_pre statements ('' = from fast_rule)")
    wta_model: str = param(WTA_MODEL, "winner-take-all synapse model")
    slow_model: str = param(SLOW_MODEL, "slow synapse model and rule")
    target_eqs: str = param(TARGET_EQS, "target-system equations")
    schedule_code: str = param(SCHEDULE_CODE, "neuron schedule (run_regularly each step)")

    def resolved(self):
        """Copy with the equation strings that ``fast_rule`` and ``wta`` select filled in."""
        rule = FAST_RULES[self.fast_rule]
        return dataclasses.replace(
            self,
            threshold=self.threshold or (THRESHOLD_WTA if self.wta else THRESHOLD_PLAIN),
            fast_model=self.fast_model or rule.model,
            fast_on_pre=self.fast_on_pre or rule.on_pre)



# ============================================================================================
# Weights (spec 1, 3, 5)
# ============================================================================================
def feedforward_weights(N, J, rng=None):
    """Feedforward weights F (N x J, dimensionless), unit-norm rows.

    J = 1: alternating +1/-1. J = 2: evenly spaced angles (spec 5). J > 2: directions drawn
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
    """W_f* = -(F F^T + mu I) (spec 1), N x N, dimensionless; W[i, j] is post i, pre j."""
    F = np.asarray(F, float)
    return -(F @ F.T + mu * np.eye(len(F)))


def optimal_slow_weights(F, A, lam):
    """W_s* = F (A + lambda I) F^T (spec 3; Boerlin 2013), N x N, in Hz.

    ``A`` in Hz (array of floats meaning Hz), ``lam`` in Hz (float).
    """
    F = np.asarray(F, float)
    A = np.asarray(A, float)
    return F @ (A + lam * np.eye(A.shape[0])) @ F.T


def initial_fast_weights(N, rng, diag=-0.5, spread=0.2):
    """Initial fast weights W0 = -spread U(0, 1) + diag I (spec 5, Brendel), dimensionless."""
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
    from scipy.linalg import solve_continuous_lyapunov

    A = np.atleast_2d(np.asarray(A, float))
    J = A.shape[0]
    M = np.block([[-np.eye(J) / tau_c, np.zeros((J, J))], [np.eye(J), A]])
    Q = np.zeros((2 * J, 2 * J))
    Q[:J, :J] = 2.0 / tau_c * np.eye(J)
    P = solve_continuous_lyapunov(M, -Q)
    var_x = np.mean(np.diag(P)[J:])
    return float(x_std / np.sqrt(var_x))


# ============================================================================================
# Builder
# ============================================================================================
@dataclasses.dataclass
class Target:
    """The target-system group (command c, target x, decoded x_hat) and its A synapses."""

    group: object
    A: object

    @property
    def objects(self):
        return [self.group, self.A]


@dataclasses.dataclass
class SpikingNetwork:
    """The Brian2 objects of one population (``objects`` is what a Network runs)."""

    neurons: object
    ff: object
    fast: object
    wta: object = None
    readout: object = None
    feedback: object = None
    slow: object = None
    objects: list = dataclasses.field(default_factory=list)


def use_clock(dt):
    """Put the network on Brian2's ``defaultclock`` with step ``dt``.

    Every object of a network shares this one clock: brian2genn refuses groups and synapses on
    clocks of their own ("Multiple clocks are not supported for the genn device") and takes
    GeNN's time step from ``defaultclock.dt``. The device sessions restore ``defaultclock.dt``
    when they end.
    """
    from brian2 import defaultclock

    defaultclock.dt = dt


def target_values(A, sigma_c, t_offset=0.0):
    """Values of the target system that may change without rebuilding (see `apply_values`).

    A : array J x J, Hz (plain floats); sigma_c : Quantity, Hz; t_offset : float, second.
    """
    return {("group", "sigma_c"): sigma_c, ("group", "t_offset"): t_offset * second,
            ("A", "a"): np.asarray(A, float).T.ravel() * Hz}  # synapse (pre j, post i): A[i, j]


def build_target(model, A, dt, tau_c, sigma_c, hold_start, t_offset=0.0, name="target"):
    """Create the target system dx/dt = A x + c with an OU command (spec 3).

    Parameters
    ----------
    model : SpikingModel (for ``J`` and ``target_eqs``)
    A : array J x J, Hz (plain floats)
    dt, tau_c : Quantity, second
    sigma_c : Quantity, Hz (stationary std of c)
    hold_start : Quantity, second (absolute time from which c is frozen)
    t_offset : float, second (absolute time of t = 0)
    """
    from brian2 import NeuronGroup, Synapses

    use_clock(dt)
    ns = dict(tau_c=tau_c, hold_start=hold_start)
    group = NeuronGroup(model.J, model.target_eqs, method="euler", namespace=ns, name=name)
    require_variables(group, TARGET_VARIABLES, "target_eqs")
    group.run_regularly(TARGET_SCHEDULE_CODE)
    Asyn = Synapses(group, group, A_MODEL, namespace=ns, name=f"{name}_A")
    pre, post = np.meshgrid(np.arange(model.J), np.arange(model.J), indexing="ij")
    Asyn.connect(i=pre.ravel(), j=post.ravel())
    target = Target(group=group, A=Asyn)
    apply_values(target, target_values(A, sigma_c, t_offset))
    return target


def block_pairs(N, R=1, self_connections=True):
    """Index arrays (pre, post) of all-to-all connections inside each of ``R`` blocks of ``N``.

    Order: block, then presynaptic, then postsynaptic index. Connecting with explicit indices
    fixes the synapse order on every device, so weights can be set and read as arrays without
    asking the device (standalone builds cannot be asked before they run).
    """
    pre, post = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    keep = np.ones((N, N), bool) if self_connections else ~np.eye(N, dtype=bool)
    pre, post = pre[keep], post[keep]
    offs = (np.arange(R) * N)[:, None]
    return (pre[None, :] + offs).ravel(), (post[None, :] + offs).ravel()


def block_values(W_blocks):
    """Weights of `block_pairs` order from a list of R matrices W[post, pre] (N x N each)."""
    return np.concatenate([np.asarray(W, float).T.ravel() for W in W_blocks])


def blocks_from_values(values, N, R):
    """Inverse of `block_values`: array (R, N, N) of W[post, pre] (last axis may be time)."""
    v = np.asarray(values, float)
    shaped = v.reshape((R, N, N) + v.shape[1:])  # (block, pre, post, ...)
    return np.swapaxes(shaped, 1, 2)


def build_population(models, target, F, W_fast, dt, learn_start, learn_end, W_slow=None,
                     slow=False, readout=False, t_offset=0.0, fast_start=None, probe_every=None,
                     probe_len=None, name="net"):
    """Create one balanced population driven by ``target`` (inside a device session).

    Several replicas (independent networks that differ only in per-neuron parameter values such
    as learning rates) can share one group: pass lists for ``models``, ``W_fast`` and ``W_slow``.
    Replica k occupies neurons k N .. (k+1) N - 1; its synapses stay inside its block.

    Parameters
    ----------
    models : SpikingModel or list of SpikingModel (same equations, any per-neuron values)
    target : Target
    F : array N x J, dimensionless (shared by the replicas)
    W_fast : array N x N or list of them, dimensionless (W[i, j]: post i, pre j)
    dt : Quantity, second
    learn_start, learn_end : Quantity, second (absolute times; slow rule and K on in between)
    W_slow : array N x N (or list), Hz as plain floats; initial slow weights (default 0)
    slow : bool
        Add slow synapses (spec 3).
    readout : bool
        Add the readout x_hat = F^T r into the target and the error feedback F e (spec 3). Only
        one population per target, with one replica, may have it.
    t_offset : float, second
    fast_start : Quantity, second
        Absolute time from which the fast rule learns (default: ``learn_start``).
    probe_every, probe_len : Quantity, second
        Open-loop probe windows: the last ``probe_len`` of every ``probe_every`` after
        ``learn_start`` has no plasticity and no error feedback (default: no probes).
    """
    from brian2 import NeuronGroup, Synapses

    use_clock(dt)
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    W_fast = list(W_fast) if isinstance(W_fast, (list, tuple)) else [W_fast]
    R = len(models)
    m = models[0].resolved()
    N = m.N
    F = np.asarray(F, float)
    if readout and R != 1:
        raise ValueError("a population with a readout cannot have replicas")
    ns = dict(lam=m.lam, mu=m.mu, beta_event=m.beta_event, fast_ratio=m.fast_ratio,
              learn_start=learn_start,
              learn_end=learn_end, fast_start=learn_start if fast_start is None else fast_start,
              probe_every=1e9 * second if probe_every is None else probe_every,
              probe_len=0 * second if probe_len is None else probe_len)

    neurons = NeuronGroup(N * R, m.neuron_eqs, threshold=m.threshold, reset=m.reset,
                          method="euler", namespace=ns, name=f"{name}_neurons")
    require_variables(neurons, NEURON_VARIABLES, "neuron_eqs")
    neurons.rank = np.tile(np.arange(N), R)
    neurons.run_regularly(m.schedule_code)

    J = F.shape[1]
    ff = Synapses(target.group, neurons, FF_MODEL, namespace=ns, name=f"{name}_ff")
    ff_pre, ff_post = np.meshgrid(np.arange(J), np.arange(N * R), indexing="ij")
    ff.connect(i=ff_pre.ravel(), j=ff_post.ravel())

    pre, post = block_pairs(N, R)
    fast = Synapses(neurons, neurons, m.fast_model, on_pre=m.fast_on_pre, method="euler",
                    namespace=ns, name=f"{name}_fast")
    fast.connect(i=pre, j=post)
    if "self_conn" in fast.variables:
        fast.self_conn = (pre == post).astype(float)

    pop = SpikingNetwork(neurons=neurons, ff=ff, fast=fast)
    objs = [neurons, ff, fast]
    if m.wta:
        pop.wta = Synapses(neurons, neurons, m.wta_model, namespace=ns, name=f"{name}_wta")
        wpre, wpost = block_pairs(N, R, self_connections=False)
        pop.wta.connect(i=wpre, j=wpost)
        objs.append(pop.wta)
    if readout:
        pop.readout = Synapses(neurons, target.group, READOUT_MODEL, namespace=ns,
                               name=f"{name}_readout")
        rpre, rpost = np.meshgrid(np.arange(N), np.arange(J), indexing="ij")
        pop.readout.connect(i=rpre.ravel(), j=rpost.ravel())
        pop.feedback = Synapses(target.group, neurons, FEEDBACK_MODEL, namespace=ns,
                                name=f"{name}_feedback")
        pop.feedback.connect(i=ff_pre.ravel(), j=ff_post.ravel())
        objs += [pop.readout, pop.feedback]
    if slow:
        pop.slow = Synapses(neurons, neurons, m.slow_model, method="euler", namespace=ns,
                            name=f"{name}_slow")
        pop.slow.connect(i=pre, j=post)
        objs.append(pop.slow)
    pop.objects = objs
    apply_values(pop, population_values(models, F, W_fast, W_slow, t_offset))
    return pop


def population_values(models, F, W_fast, W_slow=None, t_offset=0.0):
    """Values of a population that may change without rebuilding (see `apply_values`):
    thresholds, per-neuron parameters, feedforward/readout weights and initial weights.

    Arguments as for `build_population`. Keys are (attribute of `SpikingNetwork`, variable).
    """
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    W_fast = list(W_fast) if isinstance(W_fast, (list, tuple)) else [W_fast]
    R, N = len(models), models[0].N
    F = np.asarray(F, float)
    vals = {("neurons", "T"): np.tile((np.sum(F ** 2, axis=1) + models[0].mu) / 2, R),
            ("neurons", "t_offset"): t_offset * second,
            ("ff", "F"): np.tile(F, (R, 1)).T.ravel(),
            ("fast", "w"): block_values(W_fast),
            ("readout", "D"): F.ravel(),  # synapse (pre neuron i, post channel d): F[i, d]
            ("feedback", "Fb"): F.T.ravel()}
    for var in PER_NEURON_PARAMS:
        vals[("neurons", var)] = _repeat_quantity([getattr(mk, var) for mk in models], N)
    if W_slow is None:
        W_slow = [np.zeros((N, N))] * R
    W_slow = list(W_slow) if isinstance(W_slow, (list, tuple)) else [W_slow]
    vals[("slow", "w_s")] = block_values(W_slow) * Hz
    return vals


def apply_values(holder, values):
    """Set ``values`` ({(attribute, variable): value}) on the objects of ``holder``; entries
    whose object or variable does not exist (e.g. no slow synapses) are skipped."""
    for view, value in _views(holder, values):
        view[:] = value


def variable_views(holder, values):
    """``values`` keyed by Brian2 VariableViews (the form ``device.run(run_args=...)`` takes;
    brian2 >= 2.6, where views are hashable)."""
    return dict(_views(holder, values))


def _views(holder, values):
    for (attr, var), value in values.items():
        obj = getattr(holder, attr, None)
        if obj is not None and var in obj.variables:
            yield getattr(obj, var), value


def _repeat_quantity(values, N):
    """Repeat each of ``values`` (quantities of one unit, or floats) N times."""
    from brian2 import Quantity
    from brian2.units.fundamentalunits import get_dimensions

    arr = np.repeat(np.asarray([np.asarray(v, float) for v in values]), N)
    return Quantity(arr, dim=get_dimensions(values[0]))
