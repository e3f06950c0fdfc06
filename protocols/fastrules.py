"""Protocol ``fastrules``: speed of the 2015 fast rule against the 2012 rules (Fig. 1E).

§2: "the 2015 rule reaches the optimal balanced state more than one
order of magnitude faster than the 2012 rule" (paper claim), while an independent simplified check
found no such gap at matched best rates. This protocol measures it honestly: every rule runs at
every learning rate of its grid, all as independent populations driven by the *same* input in
one simulation (one build, one run). For each rule the best stable learning rate is the one that
first brings the scale-invariant weight distance below ``threshold``; runs that are unstable
(non-finite weights, learning-phase rate above ``max_rate``, more than 1 % multi-spike steps, or
ending farther from -F F^T than they started) are excluded. The reported speed ratio of a rule is
its best time divided by the reference rule's best time (``reference_rule``, default the 2015
rule; > 1: the reference is faster).

The rules compared are definitions (`locallearn.models.spiking_rules.FastRule`): each brings its
learning-rate parameter and grid, label and colour (written into the ``summary`` table, which
Fig. 1E draws from). Rules from a plugin file (``--plugin FILE.py``) join by default, and so does
an anonymous rule given as strings (``--set fast_on_pre=...``, label ``fast_rule_label``).

Sections cited as §N are those of ``docs/balanced-spiking.md``.
"""

import dataclasses

import numpy as np
import pandas as pd
from brian2 import Hz

from locallearn import definitions
from locallearn.analysis import spikes, weights
from locallearn.definitions import RegisteredName
from locallearn.params import param, Choice, Range
from locallearn.protocol_record import Protocol
from locallearn.results import RunResult
from locallearn.protocols import autoencoder
from locallearn.protocols import balanced, balanced_memory
from locallearn.protocols.balanced import (PopulationPlan, build_balanced, collect_balanced,
                                           weight_curve)

__all__ = ["FastRulesConfig", "PROTOCOL", "comparison_rules", "default_rules"]


def default_rules():
    """Names of the registered fast rules that take part in the comparison by default (those
    with ``compare=True`` and a learning rate: built-in and plugin rules alike)."""
    return [d.name for d in definitions.definitions("fast_rule") if d.compare and d.rate_param]


def _rate_grids():
    """{``rates_NAME``: field metadata} for every registered fast rule with a learning rate."""
    out = {}
    for d in definitions.definitions("fast_rule"):
        if d.rate_param:
            unit = d.param(d.rate_param).unit
            out[f"rates_{d.name}"] = dict(
                doc=f"{d.rate_param} grid of {d.display_label()}"
                    + (f" (in {unit})" if unit is not None else ", dimensionless")
                    + " (default: the rule's own grid)",
                unit=None, check=Range(0, None, lo_open=True), shape=None, kind="list",
                default=None)
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class FastRulesConfig(autoencoder.AutoencoderConfig):
    """Autoencoder configuration plus the rules to compare and their learning-rate grids.

    Each rule brings its own grid (`FastRule.rates`, or ``quick_rates`` when ``grid`` is
    ``quick``); ``--set rates_NAME=v1,v2,...`` replaces it. An anonymous rule given as strings
    (``--set fast_on_pre=...``) joins the comparison as "custom".
    """

    rules: list = param(None, "fast rules to compare (default: every registered rule with "
                        "compare=True: bd2015, event2012, hebbian2012 and plugin rules)",
                        kind="list", check=RegisteredName("fast_rule"))
    reference_rule: str = param("bd2015", "the rule the speed ratios are relative to",
                                check=RegisteredName("fast_rule", extra=("custom",)))
    grid: str = param("full", "which grid of each rule: full | quick", check=Choice("full",
                                                                                   "quick"))
    rates: dict = param({}, "learning-rate grids that replace a rule's own (rates_NAME)",
                        kind="params")
    threshold: float = param(0.05, "distance that counts as 'learned' (§2)",
                             check=Range(0, 1, lo_open=True))
    max_rate: object = param(200.0 * Hz, "learning-phase rate above which a run is unstable",
                             unit=Hz, check=Range(0, None, lo_open=True))

    def __post_init__(self):
        if self.rules is None:
            object.__setattr__(self, "rules", default_rules())

    def dynamic_params(self):
        """The ``rates_NAME`` grids of the registered rules (see `locallearn.params.param`)."""
        return _rate_grids()

    def check(self):
        """Every compared rule has a learning rate and a non-empty grid; then the autoencoder's
        checks."""
        from locallearn.errors import ConfigError

        for rule in comparison_rules(self):
            if not rule.rate_param:
                raise ConfigError("rules", f"rule {rule.name!r} has no learning rate to compare")
            if not rate_grid(self, rule):
                raise ConfigError(f"rates_{rule.name}", "must be a non-empty list of positive "
                                  "numbers")
        super().check()


def comparison_rules(cfg):
    """The `FastRule` definitions compared: ``cfg.rules``, then the anonymous rule of the
    model's strings if there is one (with a learning rate)."""
    out = [definitions.get("fast_rule", n) for n in cfg.rules]
    own = cfg.model.fast_definition()
    if own.name == "custom":
        out.append(own)
    return out


def rate_grid(cfg, rule):
    """The learning rates (numbers in the rule's rate-parameter unit) at which ``rule`` runs."""
    given = cfg.rates.get(f"rates_{rule.name}")
    if given is not None:
        return list(given)
    grid = rule.grid(quick=cfg.grid == "quick")
    if not grid and rule.name == "custom":  # no grid of its own: the configured value
        p = rule.param(rule.rate_param)
        value = getattr(cfg.model, p.name)
        grid = (float(value / p.unit) if p.unit is not None else float(value),)
    return list(grid)


QUICK = dict(autoencoder.QUICK, fano_trials="0", t_test="1*second", grid="quick")


def prepare(cfg, seed):
    """One population per (rule, learning rate), all from the same F and W0."""
    plan = autoencoder.prepare(cfg, seed)
    base = plan.populations[0]
    pops = []
    for rule in comparison_rules(cfg):
        p = rule.param(rule.rate_param)
        strings = {} if rule.name == "custom" else dict(fast_rule=rule.name, fast_model="",
                                                        fast_on_pre="")
        for k, rate in enumerate(rate_grid(cfg, rule)):
            value = rate * p.unit if p.unit is not None else float(rate)
            m = cfg.model.with_params(**strings, **{p.name: value}).resolved()
            pops.append(PopulationPlan(name=f"{rule.name}_{k}", model=m, W_fast0=base.W_fast0))
    plan.populations = pops
    return plan


def memory(cfg):
    """Counts for the memory check: one population per (rule, learning rate) of the grid."""
    n = sum(len(rate_grid(cfg, rule)) for rule in comparison_rules(cfg))
    return balanced_memory.memory_need(cfg, [(n, False, True, False)])


def build(cfg, plan):
    """Brian2 objects (see `protocols.balanced.build_balanced`)."""
    return build_balanced(cfg, plan)


def collect(cfg, plan, built):
    """Raw arrays (see `protocols.balanced.collect_balanced`)."""
    return collect_balanced(cfg, plan, built)


def analyse(cfg, plan, raw):
    """Distance curves, best stable learning rate per rule and speed ratios."""
    sch = plan.schedule
    rows, curves = [], []
    for pp in plan.populations:
        defn = pp.model.fast_definition()
        rule = defn.name
        p = defn.param(defn.rate_param)
        value = getattr(pp.model, p.name)
        rate = float(value / p.unit) if p.unit is not None else float(value)
        raw_pop = raw["pops"][pp.name]
        W_opt = defn.target_weights(plan.F, pp.model.mu)
        curve = weight_curve(plan, pp, raw_pop, W_opt)
        curve["time"] = curve["time"] - sch.learn_start
        curve = curve[curve.time >= 0]
        curve.insert(0, "rate", rate)
        curve.insert(0, "rule", rule)
        curve.insert(0, "population", pp.name)
        curves.append(curve)
        st, _si = raw_pop["spike_steps"], raw_pop["spike_i"]
        learn = (st >= sch.step(sch.learn_start)) & (st < sch.step(sch.learn_end))
        dur = sch.learn_end - sch.learn_start
        rate_learn = float(np.sum(learn) / pp.model.N / dur) if dur > 0 else float("nan")
        W = raw_pop["W_fast_final"]
        d0, _ = weights.scale_invariant_distance(pp.W_fast0, W_opt)
        d1, s1 = weights.scale_invariant_distance(W, W_opt)
        below = curve[curve.distance < cfg.threshold]
        msf = spikes.multi_spike_fraction(st)
        stable = bool(np.all(np.isfinite(W)) and rate_learn <= float(cfg.max_rate / Hz)
                      and msf <= 0.01 and d1 < d0)
        rows.append(dict(population=pp.name, rule=rule, label=defn.display_label(),
                         colour=defn.colour, rate_param=defn.rate_param, rate=rate, stable=stable,
                         time_to_threshold=float(below.time.iloc[0]) if len(below)
                         else float("nan"),
                         final_distance=d1, final_scale=s1, rate_learning_hz=rate_learn,
                         multi_spike_fraction=msf))
    summary = pd.DataFrame(rows)
    metrics = {}
    best = {}
    for rule in dict.fromkeys(summary.rule):
        sub = summary[(summary.rule == rule) & summary.stable]
        if sub.empty:
            metrics[f"best_rate_{rule}"] = float("nan")
            continue
        reached = sub[np.isfinite(sub.time_to_threshold)]
        pick = reached.loc[reached.time_to_threshold.idxmin()] if len(reached) \
            else sub.loc[sub.final_distance.idxmin()]
        best[rule] = pick
        metrics[f"best_rate_{rule}"] = float(pick.rate)
        metrics[f"time_to_threshold_{rule}_s"] = float(pick.time_to_threshold)
        metrics[f"final_distance_{rule}"] = float(pick.final_distance)
    summary["best"] = [best.get(r) is not None and best[r].population == p
                       for r, p in zip(summary.rule, summary.population)]
    ref = cfg.reference_rule
    if ref in best:
        t_ref = best[ref].time_to_threshold
        for rule, pick in best.items():
            if rule != ref:
                metrics[f"speed_ratio_{rule}"] = float(pick.time_to_threshold / t_ref)
    return RunResult(protocol="fastrules", config={}, metrics=metrics,
                     tables=dict(curves=pd.concat(curves, ignore_index=True), summary=summary),
                     arrays=dict(F=plan.F, W_initial=plan.populations[0].W_fast0))


PROTOCOL = Protocol(
    name="fastrules", config_class=FastRulesConfig, prepare=prepare, build=build,
    collect=collect, analyse=analyse, quick=QUICK,
    doc="Learning speed of the 2015 fast rule against the 2012 rules (Fig. 1E)",
    rerun=balanced, runtime_keys=balanced.runtime_keys, memory=memory,
    object_fields=balanced.OBJECT_FIELDS)
