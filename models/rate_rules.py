"""Rules of the prospective rate networks as definitions, and the composition of their strings.

Every rule is one frozen `locallearn.definitions.Definition` record, registered at import of this
module (built-ins) or of a user's plugin file (`locallearn.definitions.load_plugin`):

`ErrorOperator` (kind ``error_operator``)
    The commit statement of the transported error and the local gradient estimates of a forward
    synapse (``weight_grad``), the bias and tau_m, plus synaptic trace equations, all written for
    the *forward* synapse (``_pre`` = lower layer, ``_post`` = upper layer).
`Feedback` (kind ``feedback``)
    How the backward weights B start (``transpose`` of W or a ``random`` draw), whether they
    receive the mirrored update (``plastic``) and the Kolen-Pollack decay (``decay``), or a rule
    of their own from signals local to the backward synapse (``update``, with the neuron
    equations ``neuron_eqs`` and commit statements ``commit`` it needs; PAL).
`Optimizer` (kind ``optimizer``)
    A template of equation lines that make a variable follow a gradient estimate.

Composition (`forward_model`, `backward_model`) never rewrites a user's text: strings go into
*our* templates as whole values (``str.format``), and the backward synapse is built from the
forward synapse's equations as Brian2 parses them (`brian2.Equations`): every variable the
synapse owns is renamed ``x -> bx``, every ``*_pre``/``*_post`` identifier is swapped (by walking
the parsed expression, `rename_identifiers`), and the update of ``bw`` is multiplied by the upper
layer's ``fb_plastic`` (the gate that keeps random feedback fixed). A string whose meaning would
change under this composition is refused with a `ConfigError` naming its field
(`check_backward`). Equations: ``docs/latent-equilibrium.md``; VLE: ``docs/vle.md``.
"""

import ast
import dataclasses

from brian2 import Hz, second

from locallearn import definitions
from locallearn.definitions import Definition, Param
from locallearn.errors import ConfigError
from locallearn.params import NONNEGATIVE, POSITIVE

__all__ = ["PHI", "LOCAL_GATE", "ErrorOperator", "Feedback", "Optimizer", "RegisteredChoice", "rule",
           "optimizer_eqs", "forward_model", "backward_model", "check_backward",
           "rename_identifiers", "method_parts", "method_label", "GATE"]

#: The variable of the backward synapse's upper (presynaptic) layer that gates B's update.
GATE = "fb_plastic_pre"
#: The gate of a feedback kind's own (local) update of B (``Feedback.update``).
LOCAL_GATE = "fb_local_pre"

#: Transfer functions phi(u_p) and phi'(u_p) (docs/latent-equilibrium.md §1.2; softplus' =
#: sigmoid, §3a).
PHI = {
    "tanh": ("tanh(u_p)", "1 - tanh(u_p)**2"),
    "softplus": ("log(1 + exp(u_p))", "1/(1 + exp(-u_p))"),
    "linear": ("u_p", "1.0"),
}


# ============================================================================================
# Definition classes
# ============================================================================================
@dataclasses.dataclass(frozen=True)
class ErrorOperator(Definition):
    """An error operator: ``error`` (commit statement assigning ``e_s``), ``weight_grad`` (local
    gradient estimate of a forward synapse, a rate per second of the weight: unit 1),
    ``bias_grad``/``tau_grad`` (of the neuron's bias, unit 1, and tau_m, unit Hz), ``trace_eqs``
    (extra ODEs of the forward synapse; mirrored into the backward synapse)."""

    KIND = "error_operator"

    error: str = ""
    weight_grad: str = ""
    bias_grad: str = ""
    tau_grad: str = ""
    trace_eqs: str = ""


@dataclasses.dataclass(frozen=True)
class Feedback(Definition):
    """A feedback pathway: B starts at W^T (``initial="transpose"``) or at the protocol's random
    draw (``"random"``); ``plastic``: B receives the mirrored update (``fb_plastic`` = 1);
    ``decay``: the Kolen-Pollack decay ``kappa`` (Hz) acts on W and B. A local rule of its own:
    ``update`` (the rate of change of ``bw`` in the backward synapse's frame, pre = upper layer,
    post = lower layer; unit Hz; added as ``fb_local_pre*(update)``), ``neuron_eqs`` (extra
    equations of every layer) and ``commit`` (statements run in each layer's commit after
    ``u_p`` is computed). ``fb_local`` (1 for this kind's replicas) and ``fb_noise`` (1 also,
    except in the output layer) are per-neuron constants the strings may read."""

    KIND = "feedback"

    initial: str = "transpose"
    plastic: bool = True
    decay: bool = False
    update: str = ""
    neuron_eqs: str = ""
    commit: str = ""

    def replica_fields(self, W_T, B_random, kappa):
        """Replica values of this feedback kind: dict(B, kappa (Hz as float), fb_plastic,
        fb_local)."""
        if self.initial not in ("transpose", "random"):
            raise ConfigError("feedback", f"{self.name!r}: initial must be 'transpose' or "
                              f"'random', got {self.initial!r}")
        return dict(B=(W_T if self.initial == "transpose" else B_random).copy(),
                    kappa=float(kappa) if self.decay else 0.0,
                    fb_plastic=1.0 if self.plastic else 0.0,
                    fb_local=1.0 if self.update.strip() else 0.0)


@dataclasses.dataclass(frozen=True)
class Optimizer(Definition):
    """Equation lines (``template``, `str.format` placeholders) that make ``{var}`` follow the
    gradient estimate ``{grad}``: ``{s}`` suffix of the schedule variables (``_post``/``''``),
    ``{rate}`` learning-rate variable, ``{rate_factor}`` unit factor of a plain step,
    ``{decay}`` the Kolen-Pollack term (or ''), ``{unit}``, ``{gunit}``, ``{gunit2}`` units of
    the variable, gradient and squared gradient, ``{eps_unit}`` '' or ``*unit`` of the gradient,
    ``{flag}`` `` (clock-driven)`` in synapses. Constants the lines read are the optimiser's
    `Param` s (their values come from the model's fields of the same name)."""

    KIND = "optimizer"

    template: str = ""


class RegisteredChoice:
    """A `locallearn.params` check accepting any name registered under ``kind`` at validation
    time (so names from plugin files loaded after import are accepted)."""

    def __init__(self, kind):
        self.kind = kind

    @property
    def options(self):
        """The names registered now."""
        return definitions.names(self.kind)

    def accepts(self, v):
        """True if ``v`` names a registered definition of this kind."""
        return v in self.options

    def describe(self, unit_name=""):
        """Human-readable list of the accepted names."""
        return "one of " + ", ".join(repr(o) for o in self.options) + " (or a plugin's)"


def rule(kind, name, field):
    """The registered definition ``name`` of ``kind``; `ConfigError` naming ``field`` otherwise."""
    if name not in definitions.names(kind):
        raise ConfigError(field, f"unknown {kind} {name!r}; accepted: "
                          + ", ".join(definitions.names(kind)) + " (or load one with --plugin)")
    return definitions.get(kind, name)


def method_parts(label):
    """(ErrorOperator, Feedback) of a method label ``OPERATOR`` or ``OPERATOR/FEEDBACK``."""
    op, _, fb = label.partition("/")
    return (rule("error_operator", op, "methods"), rule("feedback", fb or "transpose", "methods"))


def method_label(label):
    """Legend text of a method: the operator's label, plus the feedback's unless transpose."""
    op, fb = method_parts(label)
    return op.display_label() + ("" if fb.name == "transpose" else f", {fb.display_label()}")


# ============================================================================================
# Built-in rules (docs/latent-equilibrium.md §0, §1.3, §1.4, §6; VLE: docs/vle.md)
# ============================================================================================
_GLE_ERROR = "e_s = v + tau_m*(eps_s - v)/tau_r"
#: PAL (docs/vle.md §3): OU noise n_pal in u_p (lower layers), low-pass slp_pal of the input.
PAL_NEURON_EQS = """
dslp_pal/dt = (s_s - slp_pal)/tau_hp : 1        # low-pass of the input; hp(s) = s - slp (PAL)
n_pal : 1                                      # OU noise added to u_p (PAL, docs/vle.md §3)
fb_local : 1 (constant)                         # 1: B to the layer below learns by its own rule
fb_noise : 1 (constant)                         # 1: this layer carries the PAL noise
"""
PAL_COMMIT = ("n_pal = int(lr_scale > 0)*(n_pal*exp(-dt/tau_xi) + fb_noise*pal_sigma*"
              "sqrt(1 - exp(-2*dt/tau_xi))*randn())  # exact OU step, on while W learns (PAL)\n"
              "u_p = u_p + n_pal")
PAL_UPDATE = "int(lr_scale_pre > 0)*eta_pal*(n_pal_post*(s_s_pre - slp_pal_pre) - pal_alpha*bw)"
BUILTIN = [
    ErrorOperator(
        name="instantaneous", label="instantaneous BP", colour="#8c8c8c",
        doc="plain backprop of the current error, e = eps (§0; the GLE code's BP variant e = ie, "
            "§2)", cite="docs/latent-equilibrium.md §0, §2",
        error="e_s = eps_s", weight_grad="e_s_post*r_s_pre", bias_grad="e_s",
        tau_grad="-e_s*(s_s - u)/tau_m"),
    ErrorOperator(
        name="gle", label="GLE", colour="#1f4e9c",
        doc="GLE: e = D+_tau_m I-_tau_r[eps] (§1.3), dW = eta e r^T, dtau_m = -eta e du/dt (§1.4)",
        cite="Ellenberger et al. 2025; docs/latent-equilibrium.md §1.3, §1.4",
        error=_GLE_ERROR, weight_grad="e_s_post*r_s_pre", bias_grad="e_s",
        tau_grad="-e_s*(s_s - u)/tau_m"),
    ErrorOperator(
        name="vle", label="VLE (ours)", colour="#c0392b",
        doc="VLE (ours): GLE error neurons transport the error; weights learn from the raw error "
            "times the presynaptic trace D+_tau_r I-_tau_m[r_pre] (exact for the layer's own "
            "filter), tau_m from eps times D+_tau_r I-_tau_m[du/dt]",
        cite="docs/vle.md; docs/latent-equilibrium.md §6",
        error=_GLE_ERROR, weight_grad="eps_s_post*(q + tau_r_post*(r_s_pre - q)/tau_s_post)",
        bias_grad="eps_s", tau_grad="-eps_s*(z + tau_r*((s_s - u)/tau_m - z)/tau_m)",
        trace_eqs="dq/dt = (r_s_pre - q)/tau_s_post : 1 (clock-driven)  "
                  "# q = I-_tau_m[r_pre]; trace = D+_tau_r q (VLE, ours)"),
    Feedback(name="transpose", label="transpose", colour="#1f4e9c",
             doc="B starts at W^T and receives the mirrored update, so it stays W^T",
             cite="docs/latent-equilibrium.md §1.3", initial="transpose"),
    Feedback(name="random", label="random B", colour="#8c8c8c",
             doc="B fixed and random (feedback alignment)", cite="Lillicrap et al. 2016",
             initial="random", plastic=False),
    Feedback(name="learned", label="learned B", colour="#c0392b",
             doc="B starts random and receives the mirrored update plus -kappa B, W gets "
                 "-kappa W (Kolen-Pollack; not from VLE): B - W^T decays as exp(-kappa t)",
             cite="Kolen & Pollack 1994; Akrout et al. 2019", initial="random", decay=True),
    Feedback(name="pal", label="PAL B", colour="#d98c00",
             doc="Phaseless Alignment Learning: B starts random and learns only from signals at "
                 "its synapse: dB/dt = eta_pal (xi_low hp(s_up) - pal_alpha B), with xi an "
                 "Ornstein-Uhlenbeck noise in the lower layer's prospective potential and hp "
                 "the high-pass filtered input of the upper neuron; E[xi hp(s)] ~ W^T",
             cite="Max et al. 2024 (Nat. Mach. Intell.); docs/vle.md §3",
             initial="random", plastic=False,
             params=(Param("pal_sigma", 0.03, "std of the OU noise in u_p, dimensionless",
                           check=NONNEGATIVE),
                     Param("tau_xi", 0.05 * second, "correlation time of the OU noise",
                           unit=second, check=POSITIVE),
                     Param("tau_hp", 0.05 * second, "time constant of the high-pass filter",
                           unit=second, check=POSITIVE),
                     Param("eta_pal", 60.0 * Hz, "learning rate of B (PAL)", unit=Hz,
                           check=NONNEGATIVE),
                     Param("pal_alpha", 2.5e-4, "weight decay of B (PAL; |B| ~ |W| at ~0.28 pal_sigma**2), "
                           "dimensionless", check=NONNEGATIVE)),
             update=PAL_UPDATE, neuron_eqs=PAL_NEURON_EQS, commit=PAL_COMMIT),
    Optimizer(name="gd", label="gradient flow", doc="dW/dt = eta g",
              cite="docs/latent-equilibrium.md §1.4",
              template="d{var}/dt = lr_scale{s}*({rate}{s}*({grad}){rate_factor}){decay} : "
                       "{unit}{flag}  # gradient flow (docs/latent-equilibrium.md §1.4)\n"),
    Optimizer(
        name="adam", label="Adam",
        doc="continuous-time Adam: dm/dt = (g - m)/tau_adam1, dv/dt = (g^2 - v)/tau_adam2, "
            "dW/dt = eta (m/c1)/(sqrt(v/c2) + eps) with discrete Adam's bias corrections c1, c2 "
            "(forward Euler with tau = dt/(1 - beta) is discrete Adam)",
        cite="Kingma & Ba 2015; docs/latent-equilibrium.md §2",
        params=(Param("tau_adam1", 0.1 * second, "first-moment time constant dt/(1-beta1)",
                      unit=second),
                Param("tau_adam2", 10.0 * second, "second-moment time constant dt/(1-beta2)",
                      unit=second),
                Param("adam_eps", 1e-8, "epsilon, in units of the gradient")),
        template="d{var}_m/dt = plastic{s}*(({grad}) - {var}_m)/tau_adam1 : {gunit}{flag}"
                 "  # Adam first moment\n"
                 "d{var}_v/dt = plastic{s}*(({grad})**2 - {var}_v)/tau_adam2 : {gunit2}{flag}"
                 "  # Adam second moment\n"
                 "d{var}/dt = lr_scale{s}*{rate}{s}*({var}_m/c1{s})/(sqrt({var}_v/c2{s}) + "
                 "adam_eps{eps_unit}){decay} : {unit}{flag}  # Adam step\n"),
]
for _d in BUILTIN:
    definitions.register(_d)


# ============================================================================================
# Composition
# ============================================================================================
def _unit_pow(unit, power):
    return "1" if unit == "1" else (unit if power == 1 else f"{unit}**{power}")


def optimizer_eqs(kind, var, grad, var_unit="1", grad_unit="1", suffix="_post",
                  decay=True, synapse=True, rate="eta", rate_factor=""):
    """Equation lines of the optimiser ``kind`` that make ``var`` follow ``grad``.

    ``var``: variable name (``w``, ``b``, ``tau_m``); ``grad``: gradient expression (ascent
    direction of -loss); ``var_unit``, ``grad_unit``: their Brian2 unit names; ``suffix``:
    ``_post`` in a forward synapse (the schedule lives in the upper layer), ``""`` in the neuron
    group; ``decay``: add the Kolen-Pollack term ``-kappa var`` (weights); ``synapse``: append
    ``(clock-driven)``; ``rate``: the learning-rate variable (Hz); ``rate_factor`` multiplies a
    plain step (unit bookkeeping for tau_m).
    """
    opt = rule("optimizer", kind, "optimizer")
    s = suffix
    return opt.template.format(
        var=var, grad=grad, unit=var_unit, gunit=_unit_pow(grad_unit, 1),
        gunit2=_unit_pow(grad_unit, 2), eps_unit="" if grad_unit == "1" else "*" + grad_unit,
        s=s, flag=" (clock-driven)" if synapse else "", rate=rate, rate_factor=rate_factor,
        decay=f" - kp_on{s}*kappa{s}*{var}" if decay else "")


def forward_model(m, plastic=True, accumulate=False):
    """Forward synapse model of a resolved `RateModel`: weight ``w``, the summed input
    ``I_ff = W r`` (§1.2), the local rule (``trace_eqs`` + optimiser) and optionally ``gacc``,
    the integral of the local gradient estimate (unit: second; for the adjoint alignment)."""
    summed = "I_ff_post = w*r_s_pre : 1 (summed)  # W r (docs/latent-equilibrium.md §1.2)\n"
    if not plastic:
        return "w : 1 (constant)\n" + summed
    text = (m.trace_eqs.strip() + "\n") if m.trace_eqs.strip() else ""
    text += optimizer_eqs(m.optimizer, "w", m.weight_grad)
    if accumulate:
        text += f"dgacc/dt = {m.weight_grad} : second (clock-driven)  # integral of the estimate\n"
    return text + summed


class _Renamer(ast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        node.id = self.mapping.get(node.id, node.id)
        return node


def rename_identifiers(code, mapping):
    """``code`` (a Brian2 expression) with every identifier in ``mapping`` replaced at once
    (walks the parsed expression, so ``{a: b, b: a}`` swaps)."""
    tree = _Renamer(mapping).visit(ast.parse(code.strip(), mode="eval"))
    return ast.unparse(tree)


def _parse(text, field):
    from brian2 import Equations

    try:
        return Equations(text)
    except Exception as exc:  # noqa: BLE001  (Brian2's parser raises several types)
        first = str(exc).strip().splitlines()
        raise ConfigError(field, "Brian2 rejected the equations: " + (first[0] if first else
                                                                       type(exc).__name__)) \
            from None


def _swap(name):
    if name.endswith("_pre"):
        return name[:-4] + "_post"
    if name.endswith("_post"):
        return name[:-5] + "_pre"
    return name


def backward_model(m, forward=None, field="forward_model"):
    """Backward synapse model (pre = upper layer, post = lower layer) composed from the forward
    synapse's parsed equations: its variables ``x`` become ``bx``, ``_pre``/``_post`` swap, the
    update of ``bw`` is gated by ``fb_plastic_pre`` (0: fixed random B), plus the feedback
    kind's own rule ``fb_local_pre*(update)`` where it has one (PAL), plus the summed error
    input ``I_fb = B e`` (§1.3). `ConfigError` (``field``) for a forward model whose mirror would
    mean something else: a summed output other than ``I_ff_post``, no weight ``w``, or a name
    the renaming would take over."""
    from brian2.equations.equations import (DIFFERENTIAL_EQUATION, Equations, SingleEquation,
                                            SUBEXPRESSION)
    from brian2.equations.codestrings import Expression

    eqs = _parse(forward if forward is not None else forward_model(m), field)
    local = rule("feedback", m.feedback, "feedback").update.strip()
    summed = sorted(n for n, eq in eqs.items() if "summed" in eq.flags)
    if summed != ["I_ff_post"]:
        raise ConfigError(field, f"the forward synapse must sum exactly I_ff_post (the backward "
                          f"synapse replaces it by I_fb_post), got {', '.join(summed) or 'none'}")
    own = [n for n in eqs if n not in ("I_ff_post", "gacc")]
    if "w" not in own:
        raise ConfigError(field, "the forward synapse must define its weight w")
    used = set(eqs) | set().union(*(eq.identifiers for eq in eqs.values()))
    taken = sorted(n for n in own if "b" + n in used)
    if taken:
        raise ConfigError(field, f"uses {'b' + taken[0]!r}, the name the backward synapse gives "
                          f"to {taken[0]!r}; rename it")
    mapping = {n: _swap(n) for n in used}
    mapping.update({n: "b" + n for n in own})
    out = []
    for n in own:
        eq = eqs[n]
        expr = None
        if eq.type in (DIFFERENTIAL_EQUATION, SUBEXPRESSION):
            code = rename_identifiers(eq.expr.code, mapping)
            if n == "w":
                code = f"{GATE}*({code})" + (f" + {LOCAL_GATE}*({local})" if local else "")
            expr = Expression(code)
        out.append(SingleEquation(eq.type, "b" + n, dimensions=eq.dim, var_type=eq.var_type,
                                  expr=expr, flags=eq.flags))
    text = str(Equations(out))
    return text + "\nI_fb_post = bw*e_s_pre : 1 (summed)  # B e (docs/latent-equilibrium.md §1.3)\n"


def check_backward(text, field="backward_model"):
    """`ConfigError` (``field``) unless ``text`` defines ``bw`` and ``I_fb_post`` and the update
    of ``bw`` vanishes when ``fb_plastic_pre`` (and ``fb_local_pre``, where the string has it)
    is 0 (so random feedback stays fixed), whatever the spacing or line breaks of the string."""
    from brian2.equations.equations import DIFFERENTIAL_EQUATION, SUBEXPRESSION
    from brian2.parsing.sympytools import str_to_sympy

    eqs = _parse(text, field)
    if "bw" not in eqs or "I_fb_post" not in eqs:
        raise ConfigError(field, "must define the feedback weight bw and the summed I_fb_post")
    eq = eqs["bw"]
    if eq.type == SUBEXPRESSION:
        raise ConfigError(field, "bw must be a parameter or an ODE, not a subexpression")
    if eq.type == DIFFERENTIAL_EQUATION:
        expr = str_to_sympy(eq.expr.code)
        gate = [s for s in expr.free_symbols if s.name == GATE]
        local = [s for s in expr.free_symbols if s.name == LOCAL_GATE]
        if not gate or expr.subs({g: 0 for g in gate + local}).simplify() != 0:
            raise ConfigError(field, f"the update of bw must vanish when {GATE} = 0 (random "
                              f"feedback stays fixed): write dbw/dt = {GATE}*(...)")
