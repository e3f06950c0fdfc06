"""``python -m locallearn show PROTOCOL``: every equation string of a network as it is built.

The protocol's network is built under Brian2's numpy target (nothing is simulated) and each group
and synapse object is printed with its equations, threshold, reset, on-spike statements and
schedules in full, followed by every external constant and per-element constant those strings
read, with its value(s) and unit. What is printed is what Brian2 received, after the rules'
parameters were appended and every empty string was filled in from a named rule, so it is the
model that ``run`` would simulate with the same options.
"""

import numpy as np

__all__ = ["show", "describe_objects"]


def _fmt(value, dim):
    """Format a scalar or an array of values with their unit (a short summary for arrays)."""
    from brian2 import Quantity

    arr = np.asarray(value, dtype=float).ravel()
    q = (lambda v: Quantity(v, dim=dim)) if dim is not None and not dim.is_dimensionless \
        else (lambda v: v)
    if arr.size == 1:
        return f"{q(arr[0])}"
    uniq = np.unique(arr)
    if uniq.size <= 4:
        return ", ".join(str(q(u)) for u in uniq) + f" ({arr.size} values)"
    return f"{q(arr.min())} .. {q(arr.max())} ({arr.size} values, {uniq.size} distinct)"


def _strings(obj):
    """(label, text) of every code string of a Brian2 group or synapse object."""
    from brian2 import NeuronGroup, Synapses

    out = [("equations", str(obj.equations))]
    if isinstance(obj, NeuronGroup):
        if "spike" in obj.events:
            out.append(("threshold", obj.events["spike"]))
        if obj.event_codes.get("spike"):
            out.append(("reset", obj.event_codes["spike"]))
    if isinstance(obj, Synapses):
        for varname, upd in obj.summed_updaters.items():
            out.append(("summed", f"{varname} = {upd.expression}  (summed into "
                        f"{upd.target.name})"))
        for pathway in obj._pathways:
            out.append((f"on_{pathway.prepost}", pathway.code))
    for sub in obj.contained_objects:
        code = getattr(sub, "abstract_code", None)
        if code and "run_regularly" in sub.name:
            out.append(("run_regularly", code))
    return out


def describe_objects(objects):
    """Text describing the Brian2 groups and synapses among ``objects`` (already built)."""
    from brian2 import NeuronGroup, Synapses
    from brian2.core.functions import DEFAULT_FUNCTIONS, DEFAULT_CONSTANTS

    from .definitions import identifiers

    lines = []
    for obj in objects:
        if not isinstance(obj, (NeuronGroup, Synapses)):
            continue
        lines.append(f"== {type(obj).__name__} {obj.name} ({len(obj)} elements)")
        ids = set()
        for label, text in _strings(obj):
            lines.append(f"  {label}:")
            lines += ["      " + ln for ln in str(text).strip().splitlines()]
            ids |= identifiers(text)
        consts, percell = [], []
        for name in sorted(ids):
            if name in DEFAULT_FUNCTIONS or name in DEFAULT_CONSTANTS or name in ("t", "dt",
                                                                                  "xi", "i", "j",
                                                                                  "N"):
                continue
            var = obj.variables.get(name)
            if var is not None:
                if getattr(var, "constant", False) and not name.startswith("_"):
                    try:
                        percell.append(f"      {name:<14} {_fmt(var.get_value(), var.dim)}")
                    except (NotImplementedError, TypeError):
                        continue
                continue
            if name in obj.namespace:
                value = obj.namespace[name]
                consts.append(f"      {name:<14} {value}")
        if consts:
            lines.append("  constants it reads (namespace):")
            lines += consts
        if percell:
            lines.append("  per-element constants it reads:")
            lines += percell
        lines.append("")
    return "\n".join(lines)


def show(protocol, quick=False, overrides=None, seed=1):
    """The text of ``python -m locallearn show`` for ``protocol`` (see module docstring)."""
    from brian2 import Network, second

    from . import devices, memory
    from .definitions import loaded_plugins
    from .protocol import check_equations, get_protocol, make_config

    proto = get_protocol(protocol)
    cfg = make_config(proto, quick=quick, overrides=overrides)
    memory.check(proto, cfg)  # before prepare: a huge N would allocate before it is refused
    plan = proto.prepare(cfg, seed)
    check_equations(proto, cfg, plan)
    with devices.session("numpy"):
        built = proto.build(cfg, plan)
        Network(*built.objects).run(0 * second, namespace={})
        head = [f"# {proto.name}: {proto.doc}",
                f"# quick={quick}, seed={seed}, overrides={dict(overrides or {})}",
                "# " + memory.describe(proto, cfg)]
        if loaded_plugins():
            head.append("# plugins: " + ", ".join(loaded_plugins()))
        return "\n".join(head) + "\n\n" + describe_objects(built.objects)
