"""Prospective rate networks that learn in real time (LE, GLE, VLE), as Brian2 equations.

Spec: ``shared/specs/latent-equilibrium.md`` (sections cited as "spec N"). Sources: Haider et al.
2021 (Latent Equilibrium, LE), Ellenberger et al. 2025 (Generalized Latent Equilibrium, GLE),
Brandt et al. 2026 (Variational Latent Equilibrium, VLE; only its abstract and a summary were
available, so everything labelled "VLE (ours)" below is our derivation, see ``docs/vle.md``).

One layered network of prospective rate neurons with pluggable parts (spec 0). Every part is an
equation string a user can replace (``--set NAME="..."``); named choices fill the strings in
(`RateModel.resolved`):

error operator (``operator``)
    ``instantaneous``  e = phi'(u_p) (B e_up): plain backprop of the current error (spec 0).
    ``gle``            e = D+_tau_m I-_tau_r [phi'(u_p) (B e_up)]: causal GLE error neurons
                       (spec 1.3), weight update e r_pre (spec 1.4).
    ``vle``            VLE (ours, spec 6 and the [S] note of spec 7): the same causal error
                       neurons transport the error down, but each layer's weights learn from the
                       raw error eps = phi'(u_p) (B e_up) times a presynaptic eligibility trace
                       D+_tau_r I-_tau_m [r_pre] (the forward filter applied to the presynaptic
                       rate), and tau_m from eps times D+_tau_r I-_tau_m [du/dt]. This moves the
                       layer's own filter from the error (where GLE can only apply its causal
                       inverse) onto the presynaptic side, where it is exact (adjointness).
    ``adjoint``        exact continuous-time BPTT (spec 1.5): offline, `locallearn.analysis.adjoint`.
feedback pathway (per replica, same strings)
    ``transpose``      B starts at W^T and receives the mirrored update, so it stays W^T.
    ``random``         B fixed and random (feedback alignment).
    ``learned``        B starts random and receives the mirrored update plus a decay -kappa B,
                       while W gets -kappa W (Kolen-Pollack; *not from VLE*): B - W^T decays as
                       exp(-kappa t) while kappa is on (``kp_end``).
optimizer (``optimizer``)
    ``gd``             plain gradient flow dW/dt = eta g (spec 1.4).
    ``adam``           continuous-time Adam as synaptic ODEs: dm/dt = (g - m)/tau_adam1,
                       dv/dt = (g^2 - v)/tau_adam2, dW/dt = eta (m/c1)/(sqrt(v/c2) + eps), with
                       the bias corrections c1, c2 of discrete Adam (forward Euler of these ODEs
                       with tau = dt/(1 - beta) *is* discrete Adam).

VLE derivation (ours; full text in ``docs/vle.md``). Energy: the action
S = int [C(r_N, y*) + sum_l lambda_l (u_p,l - K_l[W_l r_{l-1} + b_l])] dt with
K = D+_tau_r I-_tau_m; its stationary point gives lambda_l = K_l^*[delta_l] (anti-causal) and
dL/dW_l = int lambda_l r_{l-1}^T dt: exactly the adjoint of spec 1.5 (computed offline in
`locallearn.analysis.adjoint`). Modifications that make it local and causal: (M1) the error
sent down through B uses GLE's causal K^-1 instead of K^* (same phase, gain too large by
(1 + w^2 tau_m^2)/(1 + w^2 tau_r^2), spec 1.5); (M2) by adjointness
int K^*[delta] r^T = int delta K[r]^T, each layer pairs its raw error eps with the presynaptic
trace K_post[r_pre] (= d u_p,post / dW, exact for the last layer); (M3) tau_m learns from eps
times D+_tau_r I-_tau_m[du/dt] (= -d u_p/d tau_m); (M4) db/dt = eta eps. Learned backward
weights use Kolen-Pollack, which is *not* from VLE and does not correct the gain of (M1).

Discrete time (spec 2, and design.md "the subset of Brian2 every device supports"). Each step:

1. ``commit`` (``run_regularly``, every step, once per layer; reads only the layer's own
   variables and the summed inputs of the previous step):
   eps = phi'_old I_fb_old; s = I_ff_old + b + gamma e_old; e = error operator;
   u_p = u + tau_r (s - u)/tau_m; r = phi(u_p); phi' = phi'(u_p); schedules from t.
2. summed variables (``Synapses``): I_ff = W r_pre (forward), I_fb = B e_upper (backward: its
   own Synapses object from the upper to the lower layer), y_tgt = r_teacher (teacher target).
3. forward Euler of all ODEs (u, v, traces, weights, optimiser moments), which read only
   committed values.

So every layer reads its neighbours' values of the previous step (one step of delay per layer,
as in the GLE code, spec 2), and since the summed variables read only values that change in the
commit, the scheme means the same whether a device evaluates summed variables at the start of
the step (GeNN) or just before the state update (Brian2 runtime, standalone). The same scheme is
written out in NumPy in `locallearn.analysis.adjoint.simulate_forward`; a test checks that both
agree to rounding error.

Methods with different error operators run as replicas of one group: `union_model` writes each
operator-dependent string as ``sel_0*(string_0) + sel_1*(string_1) + ...`` with per-neuron
selectors, so a comparison compiles one set of code objects. Schedules and clamps are per-neuron
constants, so changing a phase length never recompiles a standalone build.

Units: u, v, r, e, weights and biases are dimensionless; time constants in seconds (one "time
unit" of the GLE tasks is one second); eta in Hz; z (the tau_m trace) in Hz.
"""

import dataclasses
import re

import numpy as np
from brian2 import Hz, second

from locallearn.errors import ConfigError
from locallearn.params import param, Range, Choice, POSITIVE, NONNEGATIVE

__all__ = [
    "LAYER_EQS", "HIDDEN_ERROR_EQS", "OUTPUT_ERROR_EQS", "INPUT_EQS", "COMMIT_CODE",
    "SCHEDULE_CODE", "PHI", "ERROR_OPERATORS", "OPERATOR_NAMES", "FEEDBACK_NAMES",
    "OPTIMIZER_NAMES", "ErrorOperator", "RateModel", "optimizer_eqs", "mirror",
    "forward_model", "backward_model", "layer_eqs", "commit_code", "Replica",
    "RateGroup", "build_input", "build_layers", "connect_target", "initial_weights",
    "union_model",
    "block_pairs", "split_blocks", "angle_deg",
]

# ============================================================================================
# Equations
# ============================================================================================
#: Layer of prospective rate neurons with their error neurons (spec 1.2, 1.3, section 2).
#: The committed variables (``*_s``) change only in the commit (`COMMIT_CODE`).
LAYER_EQS = """
du/dt = (s_s - u)/tau_m : 1                     # membrane, spec 1.2: tau_m du/dt = -u + W r + b + gamma e
dv/dt = (eps_s - v)/tau_r : 1                   # GLE error neuron integrates with the forward tau_r (spec 1.3)
dz/dt = ((s_s - u)/tau_m - z)/tau_m : Hz        # z = I-_tau_m[du/dt]: tau_m eligibility (VLE, ours)
I_ff : 1                                        # W r from the layer below (summed)
s_s : 1                                         # committed input W r + b + gamma e
u_p : 1                                         # prospective potential u + tau_r du/dt (spec 1.2)
r_s : 1                                         # committed rate phi(u_p)
phip_s : 1                                      # committed phi'(u_p)
eps_s : 1                                       # committed raw error phi'(u_p) (B e_up) ("ie", spec 2)
e_s : 1                                         # committed error sent down through B (error operator)
tau_s : second                                  # committed copy of tau_m (read by synapses)
tau_r : second (constant)                       # prospective time constant (spec 1.2)
gamma : 1 (constant)                            # error nudging of the membrane (spec 1.2)
eta : Hz (constant)                             # learning rate of the incoming weights
eta_b : Hz (constant)                           # learning rate of the bias
eta_tau : 1 (constant)                          # learning rate of tau_m (adam: max. d tau_m/dt)
kappa : Hz (constant)                           # Kolen-Pollack decay of incoming W and mirrored B
fb_plastic : 1 (constant)                       # 1: B (to the layer below) gets the mirrored update
kp_on : 1                                       # 1 while the Kolen-Pollack decay is on (schedule)
plastic : 1                                     # 1 during learning (schedule)
lr_scale : 1                                    # learning-rate schedule factor (0 outside learning)
c1 : 1                                          # Adam bias correction 1 - beta1^n
c2 : 1                                          # Adam bias correction 1 - beta2^n
learn_start : second (constant)                 # plasticity on in [learn_start, learn_end)
learn_end : second (constant)
kp_end : second (constant)                      # the Kolen-Pollack decay stops here
decay_rate : Hz (constant)                      # learning rate ~ 1/(1 + decay_rate (t - learn_start))
tau_min : second (constant)                     # clamp of tau_m
tau_max : second (constant)
"""

#: Hidden layer: the error input is summed from the layer above through B (spec 1.3).
HIDDEN_ERROR_EQS = """
I_fb : 1                                        # B e from the layer above (summed)
"""

#: Output layer: the instantaneous target error beta (y* - r) (MSE, spec 1.3), only where
#: ``mask`` is 1. ``y_tgt`` is summed from a teacher network or set by the target code.
OUTPUT_ERROR_EQS = """
I_fb = beta*mask*(y_tgt - r_s) : 1              # target error (spec 1.3, "beta (y* - r_N)")
y_tgt : 1                                       # target y*
mask : 1                                        # 1 where an error is given
beta : 1 (constant)                             # target nudging strength (spec 1.3)
"""

#: Input layer: its rate is set each step by the protocol's input code (an expression of t).
INPUT_EQS = """
r_s : 1                                         # input rate x(t)
"""

#: The commit (``run_regularly`` every step). ``{error}`` is the error operator, ``{phi}`` and
#: ``{dphi}`` the transfer function and its derivative of ``u_p``, ``{target}`` the protocol's
#: target/mask code (output layer only). Statement order matters: eps and s read the previous
#: step's phi', I_fb, e and (through I_fb) r, y_tgt and mask.
COMMIT_CODE = """
tau_m = clip(tau_m, tau_min, tau_max)
tau_s = tau_m
eps_s = phip_s*I_fb
s_s = I_ff + b + gamma*e_s
{error}
u_p = u + tau_r*(s_s - u)/tau_m
r_s = {phi}
phip_s = {dphi}
{target}
{schedule}
"""

#: Schedules as expressions of t (design.md: phases switched by equations of t). ``c1``/``c2``
#: are the bias corrections 1 - beta^n of discrete Adam after n = (t - learn_start)/dt steps (at
#: least 1), written as 1 - exp(n log(beta)): with per-neuron schedule constants, GCC -O3 takes
#: minutes on ``beta**n`` inside the neuron loop, and seconds on this form.
SCHEDULE_CODE = """
plastic = int(t >= learn_start)*int(t < learn_end)
lr_scale = plastic/(1 + decay_rate*plastic*(t - learn_start))
kp_on = plastic*int(t < kp_end)
c1 = 1 - exp(clip(floor((t - learn_start)/dt + 0.5), 1, 1e12)*log(1 - dt/tau_adam1))
c2 = 1 - exp(clip(floor((t - learn_start)/dt + 0.5), 1, 1e12)*log(1 - dt/tau_adam2))
"""

#: Transfer functions phi(u_p) and phi'(u_p) (spec 1.2; softplus' = sigmoid, spec 3a).
PHI = {
    "tanh": ("tanh(u_p)", "1 - tanh(u_p)**2"),
    "softplus": ("log(1 + exp(u_p))", "1/(1 + exp(-u_p))"),
    "linear": ("u_p", "1.0"),
}


@dataclasses.dataclass(frozen=True)
class ErrorOperator:
    """The strings an error operator selects.

    ``error``: commit statement for the transported error ``e_s``; ``weight_grad``: the local
    gradient estimate of a forward synapse (post = upper layer); ``bias_grad``/``tau_grad``: the
    neuron's bias and tau_m gradient estimates; ``trace_eqs``: extra synaptic ODEs.
    """

    error: str
    weight_grad: str
    bias_grad: str
    tau_grad: str
    trace_eqs: str = ""
    doc: str = ""


#: The error operators (spec 0; VLE: ours, see module docstring and docs/vle.md).
ERROR_OPERATORS = {
    "instantaneous": ErrorOperator(
        error="e_s = eps_s",
        weight_grad="e_s_post*r_s_pre",
        bias_grad="e_s",
        tau_grad="-e_s*(s_s - u)/tau_m",
        doc="plain backprop of the current error (spec 0; GLE code's BP variant e = ie, spec 2)"),
    "gle": ErrorOperator(
        error="e_s = v + tau_m*(eps_s - v)/tau_r",
        weight_grad="e_s_post*r_s_pre",
        bias_grad="e_s",
        tau_grad="-e_s*(s_s - u)/tau_m",
        doc="GLE: e = D+_tau_m I-_tau_r[eps] (spec 1.3), dW = eta e r^T, dtau_m = -eta e du/dt "
            "(spec 1.4)"),
    "vle": ErrorOperator(
        error="e_s = v + tau_m*(eps_s - v)/tau_r",
        weight_grad="eps_s_post*(q + tau_r_post*(r_s_pre - q)/tau_s_post)",
        bias_grad="eps_s",
        tau_grad="-eps_s*(z + tau_r*((s_s - u)/tau_m - z)/tau_m)",
        trace_eqs="dq/dt = (r_s_pre - q)/tau_s_post : 1 (clock-driven)  "
                  "# q = I-_tau_m[r_pre]; trace = D+_tau_r q (VLE, ours)",
        doc="VLE (ours): GLE error neurons transport the error; weights learn from the raw error "
            "times the presynaptic trace D+_tau_r I-_tau_m[r_pre] (exact for the layer's own "
            "filter), tau_m from eps times D+_tau_r I-_tau_m[du/dt] (docs/vle.md)"),
}
OPERATOR_NAMES = tuple(ERROR_OPERATORS)
FEEDBACK_NAMES = ("transpose", "random", "learned")
OPTIMIZER_NAMES = ("gd", "adam")


# ============================================================================================
# Composing the synapse and neuron strings
# ============================================================================================
def _unit_pow(unit, power):
    return "1" if unit == "1" else (unit if power == 1 else f"{unit}**{power}")


def optimizer_eqs(kind, var, grad, var_unit="1", grad_unit="1", suffix="_post",
                  decay=True, synapse=True, rate="eta", rate_factor=""):
    """Equation lines that make ``var`` follow the local gradient estimate ``grad``.

    Parameters
    ----------
    kind : ``gd`` or ``adam``
    var : variable name (``w``, ``b``, ``tau_m``)
    grad : gradient expression (ascent direction of -loss)
    var_unit, grad_unit : Brian2 unit names of the variable and the gradient
    suffix : ``_post`` in a forward synapse (the schedule lives in the postsynaptic layer), ``""``
        inside the neuron group
    decay : add the Kolen-Pollack decay ``-kappa var`` (weights only)
    synapse : append ``(clock-driven)``
    rate : name of the learning-rate variable; ``rate_factor`` multiplies the gd update (unit
        bookkeeping for tau_m)
    """
    if kind not in OPTIMIZER_NAMES:
        raise ConfigError("optimizer", f"must be one of {', '.join(OPTIMIZER_NAMES)}, got {kind!r}")
    flag = " (clock-driven)" if synapse else ""
    s = suffix
    dec = f" - kp_on{s}*kappa{s}*{var}" if decay else ""
    if kind == "gd":
        return (f"d{var}/dt = lr_scale{s}*({rate}{s}*({grad}){rate_factor}){dec} : "
                f"{var_unit}{flag}  # gradient flow (spec 1.4)\n")
    gu = grad_unit
    return (f"d{var}_m/dt = plastic{s}*(({grad}) - {var}_m)/tau_adam1 : {_unit_pow(gu, 1)}{flag}"
            f"  # Adam first moment\n"
            f"d{var}_v/dt = plastic{s}*(({grad})**2 - {var}_v)/tau_adam2 : {_unit_pow(gu, 2)}"
            f"{flag}  # Adam second moment\n"
            f"d{var}/dt = lr_scale{s}*{rate}{s}*({var}_m/c1{s})/(sqrt({var}_v/c2{s}) + "
            f"adam_eps{'' if gu == '1' else '*' + gu}){dec} : {var_unit}{flag}  # Adam step\n")


_PREPOST = re.compile(r"\b([A-Za-z_]\w*?)_(pre|post)\b")


def mirror(text):
    """Swap ``_pre`` and ``_post`` suffixes: the rule of a forward synapse (pre = lower layer)
    written for the backward synapse of the same pair (pre = upper layer)."""
    return _PREPOST.sub(lambda m: f"{m.group(1)}_{'post' if m.group(2) == 'pre' else 'pre'}",
                        text)


def forward_model(m, plastic=True, accumulate=False):
    """Forward synapse model of a resolved `RateModel`: weight ``w``, the summed input
    ``I_ff = W r``, the local rule (``trace_eqs`` + optimiser) and optionally ``gacc``, the
    integral of the local gradient estimate (for the alignment with the adjoint)."""
    summed = "I_ff_post = w*r_s_pre : 1 (summed)  # W r (spec 1.2)\n"
    if not plastic:
        return "w : 1 (constant)\n" + summed
    text = (m.trace_eqs.strip() + "\n") if m.trace_eqs.strip() else ""
    text += optimizer_eqs(m.optimizer, "w", m.weight_grad)
    if accumulate:
        text += f"dgacc/dt = {m.weight_grad} : second (clock-driven)  # integral of the estimate\n"
    return text + summed


def backward_model(m, forward=None):
    """Backward synapse model (pre = upper layer, post = lower layer): the mirrored forward rule
    (weight ``bw``), gated by the upper layer's ``fb_plastic`` (0: fixed random B), and the
    summed error input ``I_fb = B e`` (spec 1.3)."""
    fwd = forward if forward is not None else forward_model(m)
    lines = []
    for line in fwd.strip().splitlines():
        if "(summed)" in line or line.strip().startswith("dgacc/dt"):
            continue
        lines.append(line)
    rule = mirror("\n".join(lines))
    rule = re.sub(r"\bd(w|w_m|w_v|q)/dt\b", r"db\1/dt", rule)
    rule = re.sub(r"\b(w|w_m|w_v|q)\b", r"b\1", rule)
    # gate the step (not the moments) with the upper layer's fb_plastic
    rule = re.sub(r"^(dbw/dt = )(.*?)( : 1 \(clock-driven\))",
                  lambda mm: f"{mm.group(1)}fb_plastic_pre*({mm.group(2)}){mm.group(3)}",
                  rule, flags=re.M)
    return rule + "\nI_fb_post = bw*e_s_pre : 1 (summed)  # B e (spec 1.3)\n"


def layer_eqs(m, output):
    """Neuron equations of a hidden (``output=False``) or output layer of a resolved model."""
    text = m.layer_eqs + (m.output_error_eqs if output else m.hidden_error_eqs)
    text += optimizer_eqs(m.optimizer, "b", m.bias_grad, suffix="", decay=False, synapse=False,
                          rate="eta_b")
    text += optimizer_eqs(m.optimizer, "tau_m", m.tau_grad, var_unit="second", grad_unit="Hz",
                          suffix="", decay=False, synapse=False, rate="eta_tau",
                          rate_factor="*second")
    return text


def commit_code(m, phi, target=""):
    """The commit statements of a layer with transfer function ``phi`` (a name of `PHI`)."""
    f, df = PHI[phi]
    return m.commit_code.format(error=m.error, phi=f, dphi=df, target=target,
                                schedule=m.schedule_code)


def union_model(models):
    """One model in which each neuron selects one of several error operators.

    ``models``: resolved models that differ at most in the operator-derived strings (``error``,
    ``weight_grad``, ``bias_grad``, ``tau_grad``, ``trace_eqs``). Each such string becomes
    ``sel_0*(string_0) + sel_1*(string_1) + ...`` with per-neuron constants ``sel_k`` (1 for the
    neurons of operator k, else 0; synapses read ``sel_k_post``), and the trace equations of every
    operator are kept. Methods with different operators then run as replicas of one group: one
    set of compiled code objects (design.md: sweeps and comparisons compile once). Returns the
    first model unchanged when all operators agree.
    """
    base = models[0]
    if len(models) == 1:
        return base
    keys = ("error", "weight_grad", "bias_grad", "tau_grad", "trace_eqs", "operator",
            "forward_model", "backward_model")
    for m in models[1:]:
        for f in dataclasses.fields(RateModel):
            if f.name not in keys and getattr(m, f.name) != getattr(base, f.name):
                raise ValueError(f"models differ in {f.name}; only operators can be combined")

    def combine(field, suffix=""):
        parts = [getattr(m, field) for m in models]
        if all(p == parts[0] for p in parts):
            return parts[0]
        return " + ".join(f"sel_{k}{suffix}*({p})" for k, p in enumerate(parts))

    lhs = {m.error.split("=", 1)[0].strip() for m in models}
    if len(lhs) != 1:
        raise ValueError("the error statements must assign the same variable")
    errors = [m.error.split("=", 1)[1].strip() for m in models]
    error = (f"{lhs.pop()} = " + " + ".join(f"sel_{k}*({e})" for k, e in enumerate(errors))
             if len(set(errors)) > 1 else base.error)
    traces = []
    for m in models:
        for line in m.trace_eqs.strip().splitlines():
            if line.strip() and line not in traces:
                traces.append(line)
    sel = "".join(f"sel_{k} : 1 (constant)  # 1: this neuron's error operator is "
                  f"{m.operator}\n" for k, m in enumerate(models))
    u = dataclasses.replace(base, error=error, weight_grad=combine("weight_grad", "_post"),
                            bias_grad=combine("bias_grad"), tau_grad=combine("tau_grad"),
                            trace_eqs="\n".join(traces), layer_eqs=base.layer_eqs + sel,
                            forward_model="", backward_model="")
    fwd = forward_model(u)
    return dataclasses.replace(u, forward_model=fwd, backward_model=backward_model(u, fwd))


# ============================================================================================
# Model configuration
# ============================================================================================
@dataclasses.dataclass(frozen=True)
class RateModel:
    """Parameters and equation strings of a prospective rate network (spec 0-2).

    Empty strings are filled in from ``operator`` and ``optimizer`` by `resolved`; any string
    may be replaced (``--set weight_grad="..."``) and the protocol runs the edited model.
    """

    operator: str = param("gle", "error operator: instantaneous | gle | vle (spec 0, 6)",
                          check=Choice(*OPERATOR_NAMES))
    feedback: str = param("transpose", "feedback pathway: transpose | random | learned",
                          check=Choice(*FEEDBACK_NAMES))
    optimizer: str = param("adam", "weight dynamics: gd (gradient flow) | adam", check=Choice(
        *OPTIMIZER_NAMES))
    gamma: float = param(0.0, "error nudging of the membrane gamma (spec 1.2), dimensionless",
                         check=NONNEGATIVE)
    beta: float = param(1.0, "target nudging beta (spec 1.3), dimensionless", check=NONNEGATIVE)
    eta: object = param(0.01 * Hz, "learning rate of weights and biases", unit=Hz,
                        check=NONNEGATIVE)
    eta_tau: float = param(0.0, "learning rate of tau_m (adam: max. d tau_m/dt; 0: fixed), "
                           "dimensionless", check=NONNEGATIVE)
    tau_adam1: object = param(0.1 * second, "Adam first-moment time constant (dt/(1-beta1))",
                              unit=second, check=POSITIVE)
    tau_adam2: object = param(10.0 * second, "Adam second-moment time constant (dt/(1-beta2))",
                              unit=second, check=POSITIVE)
    adam_eps: float = param(1e-8, "Adam epsilon (in units of the gradient)", check=POSITIVE)
    lr_decay: object = param(0.0 * second, "learning rate decays as 1/(1 + t/lr_decay) from the "
                             "start of learning (0: constant)", unit=second, check=NONNEGATIVE)
    kappa: object = param(0.0 * Hz, "Kolen-Pollack decay of W and B (feedback=learned)",
                          unit=Hz, check=NONNEGATIVE)
    kp_end: object = param(1e9 * second, "the Kolen-Pollack decay stops at this time",
                           unit=second, check=NONNEGATIVE)
    tau_min: object = param(1e-3 * second, "lower clamp of tau_m (chain: 0.1, spec 3a)",
                            unit=second, check=POSITIVE)
    tau_max: object = param(100.0 * second, "upper clamp of learned tau_m", unit=second,
                            check=POSITIVE)
    # --- equation strings ('' = from operator/optimizer) ---
    layer_eqs: str = param(LAYER_EQS, "layer neuron equations (spec 1.2, 1.3)")
    hidden_error_eqs: str = param(HIDDEN_ERROR_EQS, "hidden-layer error input equations")
    output_error_eqs: str = param(OUTPUT_ERROR_EQS, "output-layer target error equations")
    commit_code: str = param(COMMIT_CODE, "commit statements run every step (template)")
    schedule_code: str = param(SCHEDULE_CODE, "learning schedule statements (expressions of t)")
    error: str = param("", "commit statement of the error operator ('' = from operator)")
    weight_grad: str = param("", "forward-synapse gradient estimate ('' = from operator)")
    bias_grad: str = param("", "bias gradient estimate ('' = from operator)")
    tau_grad: str = param("", "tau_m gradient estimate ('' = from operator)")
    trace_eqs: str = param("", "extra synaptic ODEs of the rule ('' = from operator)")
    forward_model: str = param("", "forward synapse model ('' = composed)")
    backward_model: str = param("", "backward synapse model ('' = mirrored forward rule)")

    def resolved(self):
        """Copy with every string the operator and optimizer select written out."""
        op = ERROR_OPERATORS[self.operator]
        m = dataclasses.replace(
            self, error=self.error or op.error, weight_grad=self.weight_grad or op.weight_grad,
            bias_grad=self.bias_grad or op.bias_grad, tau_grad=self.tau_grad or op.tau_grad,
            trace_eqs=self.trace_eqs if (self.trace_eqs or self.weight_grad) else op.trace_eqs)
        fwd = m.forward_model or forward_model(m)
        return dataclasses.replace(m, forward_model=fwd,
                                   backward_model=m.backward_model or backward_model(m, fwd))

    def check(self):
        """Cross-field checks (clamps ordered)."""
        if float(self.tau_min / second) >= float(self.tau_max / second):
            raise ConfigError("tau_min", f"must be smaller than tau_max = {self.tau_max}, got "
                              f"{self.tau_min}")

    def namespace(self):
        """Constants the synaptic equations read (the optimiser's). Schedules and clamps are
        per-neuron constants (`schedule_values`), so changing them never recompiles."""
        return dict(tau_adam1=self.tau_adam1, tau_adam2=self.tau_adam2, adam_eps=self.adam_eps)

    def schedule_values(self, learn_start, learn_end):
        """Per-neuron schedule constants (name -> Quantity) for a learning phase
        [learn_start, learn_end)."""
        decay = float(self.lr_decay / second)
        return dict(learn_start=learn_start, learn_end=learn_end, kp_end=self.kp_end,
                    decay_rate=(1.0 / decay if decay > 0 else 0.0) * Hz,
                    tau_min=self.tau_min, tau_max=self.tau_max)


# ============================================================================================
# Builders
# ============================================================================================
@dataclasses.dataclass
class Replica:
    """One network of a replica group: its initial parameters (per layer 1..N).

    W[l]: (n_l, n_{l-1}); B[l]: (n_{l-1}, n_l) or None (l = 0 has none); b[l]: (n_l,);
    tau_m[l], tau_r[l]: (n_l,) seconds (floats); eta[l], eta_b[l]: Hz (floats), learning rates
    of layer l's incoming weights and of its bias; eta_tau[l]: dimensionless; kappa (Hz) and
    fb_plastic apply to all layers; ``selector``: index of the replica's operator in a
    `union_model` group.
    """

    name: str
    W: list
    b: list
    tau_m: list
    tau_r: list
    eta: list
    eta_tau: list
    eta_b: list = None
    B: list = None
    kappa: float = 0.0
    fb_plastic: float = 1.0
    selector: int = 0


@dataclasses.dataclass
class RateGroup:
    """Brian2 objects of one replica group (one model, R networks)."""

    name: str
    sizes: tuple
    replicas: list
    layers: list
    forward: list
    backward: list
    objects: list
    target: object = None


def block_pairs(n_pre, n_post, R, shared_pre=False):
    """(pre, post) index arrays of all-to-all connections inside each of R blocks, ordered by
    block, then presynaptic, then postsynaptic index (``shared_pre``: one presynaptic group of
    ``n_pre`` neurons feeds every block)."""
    pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    pre, post = pre.ravel(), post.ravel()
    offs = np.arange(R)[:, None]
    pre_all = np.tile(pre, R) if shared_pre else (pre[None, :] + offs * n_pre).ravel()
    return pre_all, (post[None, :] + offs * n_post).ravel()


def _values(mats, transpose=False):
    """Synapse values in `block_pairs` order from a list of R matrices M[post, pre]."""
    return np.concatenate([(np.asarray(M, float) if transpose else np.asarray(M, float).T).ravel()
                           for M in mats])


def split_blocks(values, n_pre, n_post, R):
    """Inverse of the value order: array (R, n_post, n_pre, ...) from synapse values
    (last axis may be time)."""
    v = np.asarray(values, float)
    shaped = v.reshape((R, n_pre, n_post) + v.shape[1:])
    return np.swapaxes(shaped, 1, 2)


def initial_weights(sizes, rng, scale=1.0):
    """PyTorch ``nn.Linear`` default initialisation (spec 4): W_l, b_l ~ U(+-scale/sqrt(n_{l-1}))."""
    W, b = [None], [None]
    for l in range(1, len(sizes)):
        k = scale / np.sqrt(sizes[l - 1])
        W.append(rng.uniform(-k, k, (sizes[l], sizes[l - 1])))
        b.append(rng.uniform(-k, k, sizes[l]))
    return W, b


def angle_deg(B, W):
    """Angle (degrees) between B (n_{l-1} x n_l, or a stack over a leading axis) and W^T."""
    B = np.asarray(B, float)
    Wt = np.swapaxes(np.asarray(W, float), -1, -2)
    a = B.reshape(B.shape[:-2] + (-1,))
    c = Wt.reshape(Wt.shape[:-2] + (-1,))
    cos = np.sum(a * c, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(c, axis=-1) + 1e-300)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def build_input(n, input_eqs, input_code, dt, namespace, values=None, name="input"):
    """Input layer of ``n`` units whose rate ``r_s`` is set every step by ``input_code``
    (statements, expressions of t; design.md: inputs as equations of t or via run_regularly).
    ``values`` sets per-unit constants declared in ``input_eqs`` (name -> array)."""
    from brian2 import NeuronGroup

    g = NeuronGroup(n, INPUT_EQS + input_eqs, method="euler", namespace=namespace, name=name,
                    dt=dt)
    for k, v in (values or {}).items():
        setattr(g, k, v)
    g.run_regularly(input_code, dt=dt)
    return g


def _per_neuron(replicas, field, l, unit=None):
    vals = np.concatenate([np.broadcast_to(np.asarray(getattr(rep, field)[l], float),
                                           (len(np.atleast_1d(rep.tau_m[l])),))
                           for rep in replicas])
    return vals * unit if unit is not None else vals


def build_layers(name, model, sizes, phis, replicas, input_group, dt, learn_start, learn_end,
                 target_code="", plastic=True, accumulate=False, namespace=None):
    """Create the layers 1..N of a replica group (inside a device session).

    Parameters
    ----------
    name : str
        Prefix of every Brian2 object name.
    model : RateModel (resolved)
    sizes : list of int
        Layer sizes n_0 (input) .. n_N.
    phis : list of str
        Transfer function of layers 1..N (names of `PHI`).
    replicas : list of `Replica`
        R networks sharing these equations; replica k occupies neurons k n_l .. (k+1) n_l - 1.
    input_group : NeuronGroup
        The shared input layer (``r_s`` of size n_0).
    dt : Quantity (second)
    learn_start, learn_end : Quantity (second)
        Plasticity is on in [learn_start, learn_end) (absolute time).
    target_code : str
        Output-layer statements that set ``y_tgt`` and ``mask`` (run after the rate commit);
        leave ``y_tgt`` alone when a teacher provides it (`connect_target`).
    plastic : bool
        False: fixed weights, no backward pathway (teachers).
    accumulate : bool
        Integrate each forward synapse's gradient estimate into ``gacc``.
    namespace : dict, optional
        Extra constants the (protocol-specific) strings read, e.g. a target's period.
    """
    from brian2 import NeuronGroup, Synapses

    m = model
    R = len(replicas)
    N = len(sizes) - 1
    ns = m.namespace()
    ns.update(namespace or {})
    layers, fwd, bwd, objs = [], [], [], []
    lo, hi = float(m.tau_min / second), float(m.tau_max / second)
    for l in range(1, N + 1):
        for rep in replicas:
            tm = np.asarray(rep.tau_m[l], float)
            if np.any(tm < lo) or np.any(tm > hi):
                raise ConfigError("tau_min", f"every tau_m must lie in [tau_min, tau_max] = "
                                  f"[{lo:g}, {hi:g}] s; {name} layer {l} has {tm.min():g} to "
                                  f"{tm.max():g} s")
    for l in range(1, N + 1):
        out = l == N
        g = NeuronGroup(R * sizes[l], layer_eqs(m, out), method="euler", namespace=ns,
                        name=f"{name}_layer{l}", dt=dt)
        g.tau_m = _per_neuron(replicas, "tau_m", l, second)
        g.tau_s = g.tau_m[:]
        g.tau_r = _per_neuron(replicas, "tau_r", l, second)
        g.b = np.concatenate([np.asarray(rep.b[l], float) for rep in replicas])
        g.gamma = m.gamma
        g.eta = _per_neuron(replicas, "eta", l, Hz) if plastic else 0 * Hz
        g.eta_tau = _per_neuron(replicas, "eta_tau", l) if plastic else 0.0
        g.eta_b = (_per_neuron(replicas, "eta_b", l, Hz) if plastic and replicas[0].eta_b
                   is not None else 0 * Hz)
        g.kappa = np.repeat([rep.kappa for rep in replicas], sizes[l]) * Hz
        g.fb_plastic = np.repeat([rep.fb_plastic for rep in replicas], sizes[l])
        for key, value in m.schedule_values(learn_start, learn_end).items():
            setattr(g, key, value)
        k = 0
        while f"sel_{k}" in g.variables:
            setattr(g, f"sel_{k}", np.repeat([float(rep.selector == k) for rep in replicas],
                                             sizes[l]))
            k += 1
        if out:
            g.beta = m.beta
        g.run_regularly(commit_code(m, phis[l - 1], target_code if out else ""), dt=dt)
        layers.append(g)
        objs.append(g)
    for l in range(1, N + 1):
        pre_group = input_group if l == 1 else layers[l - 2]
        pre, post = block_pairs(sizes[l - 1], sizes[l], R, shared_pre=(l == 1))
        model_text = m.forward_model if plastic else forward_model(m, plastic=False)
        if plastic and accumulate:
            model_text = (f"dgacc/dt = {m.weight_grad} : second (clock-driven)  # integral of the "
                          f"estimate\n" + model_text)
        s = Synapses(pre_group, layers[l - 1], model_text, method="euler", namespace=ns,
                     name=f"{name}_forward{l}", dt=dt)
        s.connect(i=pre, j=post)
        s.w = _values([rep.W[l] for rep in replicas])
        if "q" in s.variables:
            s.q = 0.0
        fwd.append(s)
        objs.append(s)
        if plastic and l >= 2:
            bpost, bpre = block_pairs(sizes[l - 1], sizes[l], R)
            sb = Synapses(layers[l - 1], layers[l - 2], m.backward_model, method="euler",
                          namespace=ns, name=f"{name}_backward{l}", dt=dt)
            sb.connect(i=bpre, j=bpost)  # same (block, lower, upper) order as the forward pairs
            sb.bw = np.concatenate([np.asarray(rep.B[l], float).ravel() for rep in replicas])
            bwd.append(sb)
            objs.append(sb)
        else:
            bwd.append(None)
    return RateGroup(name=name, sizes=tuple(sizes), replicas=list(replicas), layers=layers,
                     forward=fwd, backward=bwd, objects=objs)


def connect_target(teacher, group, dt):
    """Summed target ``y_tgt = r_teacher`` from a teacher's output layer into every replica's
    output layer (one synapse per output unit and replica)."""
    from brian2 import Synapses

    n = group.sizes[-1]
    R = len(group.replicas)
    pre = np.tile(np.arange(n), R)
    post = np.arange(n * R)
    s = Synapses(teacher.layers[-1], group.layers[-1],
                 "y_tgt_post = r_s_pre : 1 (summed)  # teacher output is the target",
                 name=f"{group.name}_target", dt=dt)
    s.connect(i=pre, j=post)
    group.target = s
    group.objects.append(s)
    return s
