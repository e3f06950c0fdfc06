"""Shared machinery of the prospective-rate protocols (chain, fourier, xor).

A *method* is a label ``OPERATOR`` or ``OPERATOR/FEEDBACK`` (``gle``, ``vle/random``,
``vle/learned``, ``instantaneous``) naming registered definitions (`locallearn.definitions`,
built-ins in `locallearn.models.rate_rules`, more from plugin files). Methods that
share an operator share their equation strings and run as replicas of one Brian2 group (one set
of compiled code objects); all methods of a protocol run side by side in one network, on one
input, so a run compiles once.
"""

import dataclasses

import numpy as np
from brian2 import second

from locallearn import definitions
from locallearn.errors import ConfigError
from locallearn.models import rate

__all__ = ["method_help", "parse_method", "check_methods", "check_dt", "GroupPlan",
           "group_methods", "build_groups", "binned", "record_steps", "check_multiple",
           "object_fields", "feedback_fields"]


def method_help():
    """What a method label may be, with the names registered now (plugins included)."""
    return ("OPERATOR or OPERATOR/FEEDBACK with OPERATOR in "
            + ", ".join(definitions.names("error_operator")) + " and FEEDBACK in "
            + ", ".join(definitions.names("feedback")))


def parse_method(label, field="methods"):
    """``"vle/random"`` -> ("vle", "random"); ``"gle"`` -> ("gle", "transpose"); the names must
    be registered (`locallearn.definitions`)."""
    if not isinstance(label, str):
        raise ConfigError(field, f"entries must be {method_help()}, got {label!r}")
    parts = label.strip().split("/")
    op = parts[0]
    fb = parts[1] if len(parts) > 1 else "transpose"
    if len(parts) > 2 or op not in definitions.names("error_operator") \
            or fb not in definitions.names("feedback"):
        raise ConfigError(field, f"entries must be {method_help()}, got {label!r}")
    return op, fb


def feedback_fields(feedback, W_T, B_random, kappa):
    """Replica fields (B, kappa in Hz as a float, fb_plastic, fb_local) of the registered
    feedback kind ``feedback`` (`locallearn.models.rate_rules.Feedback.replica_fields`)."""
    return definitions.get("feedback", feedback).replica_fields(W_T, B_random, kappa)


def check_methods(methods, field="methods"):
    """Validate a list of method labels (non-empty, known, no duplicates)."""
    if not methods:
        raise ConfigError(field, f"must list at least one method ({method_help()})")
    seen = set()
    for m in methods:
        parse_method(m, field)
        if m in seen:
            raise ConfigError(field, f"lists {m!r} twice")
        seen.add(m)


def check_dt(dt, taus):
    """`ConfigError` unless the time step ``dt`` (Quantity) is below every time constant.

    ``taus``: mapping field name -> time constant(s) in seconds (floats or arrays)."""
    d = float(dt / second)
    for name, tau in taus.items():
        t = float(np.min(np.asarray(tau, float)))
        if not d < t:
            raise ConfigError("dt", f"must be smaller than every time constant; {name} has "
                              f"{t:g} s, got dt = {d:g} s")


@dataclasses.dataclass
class Built:
    """Brian2 objects of a rate-network run (or of one part of it)."""

    objects: list
    duration: object
    groups: dict
    monitors: dict


@dataclasses.dataclass
class GroupPlan:
    """A replica group: one resolved model, its replicas and their method labels."""

    name: str
    model: object
    replicas: list
    labels: list
    plastic: bool = True
    operators: list = dataclasses.field(default_factory=list)


def group_methods(base_model, methods, make_replica, prefix="m"):
    """All methods as replicas of one group (`rate.union_model` over their operators, so the
    network compiles one set of code objects). ``make_replica(label, operator, feedback)``
    returns the `rate.Replica` of one method (or None: the caller fills the replicas in). The
    group's model carries the strings of the (at most one) feedback kind with its own rule.
    Returns a list with one `GroupPlan`; ``plan.operators`` lists the union's operators."""
    ops, local = [], []
    for label in methods:
        op, fb = parse_method(label)
        if op not in ops:
            ops.append(op)
        if definitions.get("feedback", fb).update.strip() and fb not in local:
            local.append(fb)
    if len(local) > 1:
        raise ConfigError("methods", f"at most one feedback kind with its own rule per "
                          f"comparison, got {', '.join(local)}")
    models = [dataclasses.replace(base_model, operator=op,
                                  feedback=local[0] if local else "transpose").resolved()
              for op in ops]
    reps = []
    for label in methods:
        op, fb = parse_method(label)
        rep = make_replica(label, op, fb)
        if rep is not None:
            rep.selector = ops.index(op)
        reps.append(rep)
    gp = GroupPlan(name=f"{prefix}_net", model=rate.union_model(models), replicas=reps,
                   labels=list(methods))
    gp.operators = ops
    return [gp]


def build_groups(plans, sizes, phis, input_group, dt, learn_start, learn_end, target_code="",
                 teacher=None, accumulate=False, namespace=None):
    """Build every group of ``plans`` (inside a session); returns {name: RateGroup}.

    With ``teacher`` (a built RateGroup) each plastic group's output target is the teacher's
    output (`rate.connect_target`)."""
    built = {}
    for gp in plans:
        grp = rate.build_layers(gp.name, gp.model, sizes, phis, gp.replicas, input_group, dt,
                                learn_start, learn_end, target_code=target_code,
                                plastic=gp.plastic, accumulate=accumulate and gp.plastic,
                                namespace=namespace)
        if teacher is not None and gp.plastic:
            rate.connect_target(teacher, grp, dt)
        built[gp.name] = grp
    return built


def binned(values, steps_per_bin):
    """Mean of ``values`` (time on axis 0) over consecutive bins of ``steps_per_bin`` steps
    (an incomplete last bin is dropped)."""
    v = np.asarray(values, float)
    k = max(1, int(steps_per_bin))
    nb = v.shape[0] // k
    return v[: nb * k].reshape((nb, k) + v.shape[1:]).mean(axis=1)


def check_multiple(cfg, name, of, of_name, allow_zero=False):
    """`ConfigError` unless field ``name`` of ``cfg`` is a (positive) multiple of ``of``."""
    ratio = float(getattr(cfg, name) / of)
    if (ratio < 1 - 1e-9 and not (allow_zero and abs(ratio) < 1e-12)) \
            or abs(ratio - round(ratio)) > 1e-6:
        raise ConfigError(name, f"must be a multiple of {of_name} = {of}, got {getattr(cfg, name)}")


def object_fields(n_layers):
    """`Protocol.object_fields` of a rate network with ``n_layers`` layers: which model strings
    define each Brian2 object (for error messages naming the field)."""
    out = {"input": ("input code",)}
    for l in range(1, n_layers + 1):
        out[f"layer{l}"] = ("layer_eqs", "commit_code", "schedule_code", "error", "bias_grad",
                            "tau_grad") + (("output_error_eqs",) if l == n_layers
                                           else ("hidden_error_eqs",))
        out[f"forward{l}"] = ("forward_model", "weight_grad", "trace_eqs")
        if l > 1:
            out[f"backward{l}"] = ("backward_model", "weight_grad", "trace_eqs")
    return out


def record_steps(t_start, t_stop, dt):
    """Step indices of the half-open interval [t_start, t_stop) (seconds, floats)."""
    return int(round(t_start / dt)), int(round(t_stop / dt))


def memory_need(duration, dt, per_step, synapses=0, neurons=0, snapshots=0.0, per_snapshot=0,
                knobs=""):
    """The `locallearn.memory.Need` of a rate protocol: ``per_step`` values recorded every
    ``dt`` over ``duration`` (both Brian2 quantities), ``per_snapshot`` values at each of
    ``snapshots`` snapshots, plus ``synapses`` and ``neurons``."""
    from locallearn.memory import Need

    steps = float(duration / dt)
    return Need(synapses=int(synapses), neurons=int(neurons),
                recorded=int(steps * per_step + snapshots * per_snapshot), knobs=knobs)
