"""Prospective rate networks that learn in real time (LE, GLE, VLE), as Brian2 equations.

Equations: ``docs/latent-equilibrium.md`` (its sections are cited as "§N"). Sources: Haider et al.
2021 (Latent Equilibrium, LE), Ellenberger et al. 2025 (Generalized Latent Equilibrium, GLE),
Brandt et al. 2026 (Variational Latent Equilibrium, VLE; only its abstract and a summary were
available, so everything labelled "VLE (ours)" below is our derivation, see ``docs/vle.md``).

One layered network of prospective rate neurons with pluggable parts (§0). Every part is an
equation string a user can replace (``--set NAME="..."``); named choices fill the strings in
(`RateModel.resolved`). Each named choice is a registered definition
(`locallearn.models.rate_rules`: `ErrorOperator`, `Feedback`, `Optimizer`; a plugin file adds
more, `locallearn.definitions.load_plugin`), and the backward synapse is composed from the
forward one by `rate_rules.backward_model` (parsed equations, no rewriting of text). Built-ins:

error operator (``operator``)
    ``instantaneous``
        e = phi'(u_p) (B e_up): plain backprop of the current error (§0).
    ``gle``
        e = D+_tau_m I-_tau_r [phi'(u_p) (B e_up)]: causal GLE error neurons
        (§1.3), weight update e r_pre (§1.4).
    ``vle``
        VLE (ours, §6 and the [S] note of §7): the same causal error
        neurons transport the error down, but each layer's weights learn from the
        raw error eps = phi'(u_p) (B e_up) times a presynaptic eligibility trace
        D+_tau_r I-_tau_m [r_pre] (the forward filter applied to the presynaptic
        rate), and tau_m from eps times D+_tau_r I-_tau_m [du/dt]. This moves the
        layer's own filter from the error (where GLE can only apply its causal
        inverse) onto the presynaptic side, where it is exact (adjointness).

    (``adjoint``: exact continuous-time BPTT (§1.5), offline, `locallearn.analysis.adjoint`.)
feedback pathway (per replica, same strings; a method label ``OPERATOR/FEEDBACK`` selects it)
    ``transpose``
        B starts at W^T and receives the mirrored update, so it stays W^T.
    ``random``
        B fixed and random (feedback alignment).
    ``learned``
        B starts random and receives the mirrored update plus a decay -kappa B,
        while W gets -kappa W (Kolen-Pollack; *not from VLE*): B - W^T decays as
        exp(-kappa t) while kappa is on (``kp_end``).
    ``pal``
        Phaseless Alignment Learning (Max et al. 2024; ``docs/vle.md`` §3): B starts
        random and learns only from signals at its synapse, an OU noise xi in the
        lower layer's u_p and the high-pass filtered input of the upper neuron:
        dB/dt = eta_pal (xi hp(s)^T - pal_alpha B); never reads W.
optimizer (``optimizer``)
    ``gd``
        plain gradient flow dW/dt = eta g (§1.4).
    ``adam``
        continuous-time Adam as synaptic ODEs: dm/dt = (g - m)/tau_adam1,
        dv/dt = (g^2 - v)/tau_adam2, dW/dt = eta (m/c1)/(sqrt(v/c2) + eps), with
        the bias corrections c1, c2 of discrete Adam (forward Euler of these ODEs
        with tau = dt/(1 - beta) *is* discrete Adam).

VLE derivation (ours; full text in ``docs/vle.md``). Energy: the action
S = int [C(r_N, y*) + sum_l lambda_l (u_p,l - K_l[W_l r_{l-1} + b_l])] dt with
K = D+_tau_r I-_tau_m; its stationary point gives lambda_l = K_l^*[delta_l] (anti-causal) and
dL/dW_l = int lambda_l r_{l-1}^T dt: exactly the adjoint of §1.5 (computed offline in
`locallearn.analysis.adjoint`). Modifications that make it local and causal: (M1) the error
sent down through B uses GLE's causal K^-1 instead of K^* (same phase, gain too large by
(1 + w^2 tau_m^2)/(1 + w^2 tau_r^2), §1.5); (M2) by adjointness
int K^*[delta] r^T = int delta K[r]^T, each layer pairs its raw error eps with the presynaptic
trace K_post[r_pre] (= d u_p,post / dW, exact for the last layer); (M3) tau_m learns from eps
times D+_tau_r I-_tau_m[du/dt] (= -d u_p/d tau_m); (M4) db/dt = eta eps. Learned backward
weights use Kolen-Pollack, which is *not* from VLE and does not correct the gain of (M1).

Discrete time (§2, and design.md "the subset of Brian2 every device supports"). Each step:

1. ``commit`` (``run_regularly``, every step, once per layer; reads only the layer's own
   variables and the summed inputs of the previous step):
   eps = phi'_old I_fb_old; s = I_ff_old + b + gamma e_old; e = error operator;
   u_p = u + tau_r (s - u)/tau_m; r = phi(u_p); phi' = phi'(u_p); schedules from t.
2. summed variables (``Synapses``): I_ff = W r_pre (forward), I_fb = B e_upper (backward: its
   own Synapses object from the upper to the lower layer), y_tgt = r_teacher (teacher target).
3. forward Euler of all ODEs (u, v, traces, weights, optimiser moments), which read only
   committed values.

So every layer reads its neighbours' values of the previous step (one step of delay per layer,
as in the GLE code, §2), and since the summed variables read only values that change in the
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

from brian2 import Hz, second

from locallearn import definitions
from locallearn.errors import ConfigError
from locallearn.models import rate_rules
from locallearn.models.rate_rules import (  # re-exported, see __all__
    PHI, ErrorOperator, Feedback, Optimizer, RegisteredChoice, optimizer_eqs, forward_model,
    backward_model, check_backward)
from locallearn.models.rate_build import (  # re-exported, see __all__
    INPUT_EQS, Replica, RateGroup, block_pairs, split_blocks, initial_weights, angle_deg,
    build_input, build_layers, connect_target, layer_eqs, commit_code)
from locallearn.params import param, POSITIVE, NONNEGATIVE

__all__ = [
    "LAYER_EQS", "HIDDEN_ERROR_EQS", "OUTPUT_ERROR_EQS", "INPUT_EQS", "COMMIT_CODE",
    "SCHEDULE_CODE", "PHI", "ErrorOperator", "Feedback", "Optimizer", "RegisteredChoice",
    "RateModel", "optimizer_eqs", "forward_model", "backward_model", "check_backward",
    "layer_eqs", "commit_code", "Replica", "RateGroup", "build_input", "build_layers",
    "connect_target", "initial_weights", "union_model", "block_pairs", "split_blocks",
    "angle_deg",
]

# ============================================================================================
# Equations
# ============================================================================================
#: Layer of prospective rate neurons with their error neurons (§1.2, §1.3, §2).
#: The committed variables (``*_s``) change only in the commit (`COMMIT_CODE`).
LAYER_EQS = """
du/dt = (s_s - u)/tau_m : 1                     # membrane, §1.2: tau_m du/dt = -u + W r + b + gamma e
dv/dt = (eps_s - v)/tau_r : 1                   # GLE error neuron integrates with the forward tau_r (§1.3)
dz/dt = ((s_s - u)/tau_m - z)/tau_m : Hz        # z = I-_tau_m[du/dt]: tau_m eligibility (VLE, ours)
I_ff : 1                                        # W r from the layer below (summed)
s_s : 1                                         # committed input W r + b + gamma e
u_p : 1                                         # prospective potential u + tau_r du/dt (§1.2)
r_s : 1                                         # committed rate phi(u_p)
phip_s : 1                                      # committed phi'(u_p)
eps_s : 1                                       # committed raw error phi'(u_p) (B e_up) ("ie", §2)
e_s : 1                                         # committed error sent down through B (error operator)
tau_s : second                                  # committed copy of tau_m (read by synapses)
tau_r : second (constant)                       # prospective time constant (§1.2)
gamma : 1 (constant)                            # error nudging of the membrane (§1.2)
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

#: Hidden layer: the error input is summed from the layer above through B (§1.3).
HIDDEN_ERROR_EQS = """
I_fb : 1                                        # B e from the layer above (summed)
"""

#: Output layer: the instantaneous target error beta (y* - r) (MSE, §1.3), only where
#: ``mask`` is 1. ``y_tgt`` is summed from a teacher network or set by the target code.
OUTPUT_ERROR_EQS = """
I_fb = beta*mask*(y_tgt - r_s) : 1              # target error (§1.3, "beta (y* - r_N)")
y_tgt : 1                                       # target y*
mask : 1                                        # 1 where an error is given
beta : 1 (constant)                             # target nudging strength (§1.3)
"""

#: The commit (``run_regularly`` every step). ``{error}`` is the error operator, ``{phi}`` and
#: ``{dphi}`` the transfer function and its derivative of ``u_p``, ``{target}`` the protocol's
#: target/mask code (output layer only), ``{feedback}`` the feedback kind's commit statements
#: (PAL's noise in u_p; empty for the others). Statement order matters: eps and s read the previous
#: step's phi', I_fb, e and (through I_fb) r, y_tgt and mask.
COMMIT_CODE = """
tau_m = clip(tau_m, tau_min, tau_max)
tau_s = tau_m
eps_s = phip_s*I_fb
s_s = I_ff + b + gamma*e_s
{error}
u_p = u + tau_r*(s_s - u)/tau_m
{feedback}
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
    fwd = _given(models, "forward_model", [forward_model(m) for m in models]) or forward_model(u)
    bwd = _given(models, "backward_model", [backward_model(m, m.forward_model) for m in models])
    return dataclasses.replace(u, forward_model=fwd, backward_model=bwd or backward_model(u, fwd))


def _given(models, field, composed):
    """The user's string of ``field`` if the models carry one (not their own composition), so a
    union keeps it instead of composing its own; '' otherwise."""
    given = {getattr(m, field) for m, c in zip(models, composed) if getattr(m, field) != c}
    if len(given) > 1:
        raise ConfigError(field, "differs between the error operators of one comparison")
    return given.pop() if given else ""


# ============================================================================================
# Model configuration
# ============================================================================================
@dataclasses.dataclass(frozen=True)
class RateModel:
    """Parameters and equation strings of a prospective rate network (§0-§2).

    Empty strings are filled in from ``operator`` and ``optimizer`` by `resolved`; any string
    may be replaced (``--set weight_grad="..."``) and the protocol runs the edited model.
    """

    operator: str = param("gle", "error operator: a registered name (built-in: instantaneous, "
                          "gle, vle; §0, §6)", check=RegisteredChoice("error_operator"))
    feedback: str = param("transpose", "feedback pathway: a registered name (built-in: "
                          "transpose, random, learned, pal)", check=RegisteredChoice("feedback"))
    optimizer: str = param("adam", "weight dynamics: a registered name (built-in: gd, adam)",
                           check=RegisteredChoice("optimizer"))
    gamma: float = param(0.0, "error nudging of the membrane gamma (§1.2), dimensionless",
                         check=NONNEGATIVE)
    beta: float = param(1.0, "target nudging beta (§1.3), dimensionless", check=NONNEGATIVE)
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
    tau_min: object = param(1e-3 * second, "lower clamp of tau_m (chain: 0.1, §3a)",
                            unit=second, check=POSITIVE)
    tau_max: object = param(100.0 * second, "upper clamp of learned tau_m", unit=second,
                            check=POSITIVE)
    # --- equation strings ('' = from operator/optimizer) ---
    layer_eqs: str = param(LAYER_EQS, "layer neuron equations (§1.2, §1.3)")
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
    backward_model: str = param("", "backward synapse model ('' = composed from the forward "
                                "synapse; must gate the update of bw with fb_plastic_pre)")
    rule_params: dict = param({}, "values of a plugin rule's own parameters (built-in rules' "
                              "parameters are fields)", kind="params")

    def resolved(self):
        """Copy with every string the operator and optimizer select written out. The forward
        synapse is composed from its pieces unless given; the backward synapse is composed from
        the forward one (`backward_model`) unless given, and checked (`check_backward`)."""
        op = rate_rules.rule("error_operator", self.operator, "operator")
        rate_rules.rule("optimizer", self.optimizer, "optimizer")
        fb = rate_rules.rule("feedback", self.feedback, "feedback")
        extra = fb.neuron_eqs.strip()
        layer = self.layer_eqs if not extra or extra in self.layer_eqs \
            else self.layer_eqs.rstrip("\n") + "\n" + extra + "\n"
        m = dataclasses.replace(
            self, layer_eqs=layer, error=self.error or op.error, weight_grad=self.weight_grad or op.weight_grad,
            bias_grad=self.bias_grad or op.bias_grad, tau_grad=self.tau_grad or op.tau_grad,
            trace_eqs=self.trace_eqs if (self.trace_eqs or self.weight_grad) else op.trace_eqs)
        fwd = m.forward_model or forward_model(m)
        field = "forward_model" if m.forward_model else "weight_grad/trace_eqs"
        bwd = m.backward_model or backward_model(m, fwd, field=field)
        check_backward(bwd)
        return dataclasses.replace(m, forward_model=fwd, backward_model=bwd)

    def check(self):
        """Cross-field checks (clamps ordered; the composed strings mean what they say)."""
        self.resolved()
        if float(self.tau_min / second) >= float(self.tau_max / second):
            raise ConfigError("tau_min", f"must be smaller than tau_max = {self.tau_max}, got "
                              f"{self.tau_min}")

    def namespace(self):
        """Constants the synaptic equations read: the selected rules' parameters (`Param`), with
        the value of this model's field of the same name where there is one, and the Adam
        constants the schedule's bias corrections read (`SCHEDULE_CODE`). Schedules and clamps
        are per-neuron constants (`schedule_values`), so changing them never recompiles."""
        ns = dict(tau_adam1=self.tau_adam1, tau_adam2=self.tau_adam2, adam_eps=self.adam_eps)
        fields = {f.name for f in dataclasses.fields(self)}
        for kind, name in (("optimizer", self.optimizer), ("error_operator", self.operator),
                           ("feedback", self.feedback)):
            for p in definitions.get(kind, name).params:
                ns[p.name] = getattr(self, p.name) if p.name in fields \
                    else self.rule_params.get(p.name, p.default)
        return ns

    def dynamic_params(self):
        """{name: field metadata} of the rules' parameters that are not fields of the model (a
        plugin rule's): settable with ``--set NAME=...`` (see `locallearn.params.param`)."""
        fields = {f.name for f in dataclasses.fields(self)}
        out = {}
        for kind in ("error_operator", "feedback", "optimizer"):
            for n, p in definitions.declared_params(kind).items():
                if n not in fields:
                    out.setdefault(n, p.meta())
        return out

    def schedule_values(self, learn_start, learn_end):
        """Per-neuron schedule constants (name -> Quantity) for a learning phase
        [learn_start, learn_end)."""
        decay = float(self.lr_decay / second)
        return dict(learn_start=learn_start, learn_end=learn_end, kp_end=self.kp_end,
                    decay_rate=(1.0 / decay if decay > 0 else 0.0) * Hz,
                    tau_min=self.tau_min, tau_max=self.tau_max)
