"""Protocol ``fastrules``: speed of the 2015 fast rule against the 2012 rules (Fig. 1E).

Spec balanced-spiking section 2: "the 2015 rule reaches the optimal balanced state more than one
order of magnitude faster than the 2012 rule" (paper claim), while an independent simplified check
found no such gap at matched best rates. This protocol measures it honestly: every rule runs at
every learning rate of its grid, all as independent populations driven by the *same* input in
one simulation (one build, one run). For each rule the best stable learning rate is the one that
first brings the scale-invariant weight distance below ``threshold``; runs that are unstable
(non-finite weights, learning-phase rate above ``max_rate``, more than 1 % multi-spike steps, or
ending farther from -F F^T than they started) are excluded. The reported speed ratio of a rule is
its best time divided by the 2015 rule's best time (> 1: the 2015 rule is faster).
"""

import dataclasses

import numpy as np
import pandas as pd
from brian2 import Hz

from locallearn.analysis import spikes, weights
from locallearn.params import param, Range
from locallearn.protocol import Protocol
from locallearn.results import RunResult
from locallearn.models.spiking import optimal_fast_weights
from locallearn.protocols import autoencoder
from locallearn.protocols import balanced
from locallearn.protocols.balanced import (PopulationPlan, build_balanced, collect_balanced,
                                           weight_curve)

__all__ = ["FastRulesConfig", "PROTOCOL", "RULE_RATE"]

#: Which model parameter is the learning rate of each rule, and its unit.
RULE_RATE = {"bd2015": ("eta_f", 1.0), "event2012": ("eta_f", 1.0),
             "hebbian2012": ("eta_hebb", Hz)}


@dataclasses.dataclass(frozen=True, eq=False)
class FastRulesConfig(autoencoder.AutoencoderConfig):
    """Autoencoder configuration plus a learning-rate grid per rule."""

    rules: list = param(["bd2015", "event2012", "hebbian2012"], "rules to compare",
                        kind="list")
    rates_bd2015: list = param([0.005, 0.01, 0.02, 0.04, 0.08, 0.16],
                               "eta_f grid of the 2015 rule, dimensionless", kind="list")
    rates_event2012: list = param([0.0025, 0.005, 0.01, 0.02, 0.04, 0.08],
                                  "eta_f grid of the event-based 2012 rule, dimensionless",
                                  kind="list")
    rates_hebbian2012: list = param([0.25, 0.5, 1.0, 2.0, 4.0, 8.0],
                                    "eta_hebb grid (Hz) of the continuous 2012 rule",
                                    kind="list")
    threshold: float = param(0.05, "distance that counts as 'learned' (spec 2)",
                             check=Range(0, 1, lo_open=True))
    max_rate: object = param(200.0 * Hz, "learning-phase rate above which a run is unstable",
                             unit=Hz, check=Range(0, None, lo_open=True))

    def check(self):
        """Known rules, positive finite rates, then the autoencoder's checks."""
        from locallearn.errors import ConfigError

        for r in self.rules:
            if r not in RULE_RATE:
                raise ConfigError("rules", f"entries must be one of {', '.join(RULE_RATE)}, "
                                  f"got {r!r}")
            grid = getattr(self, f"rates_{r}")
            if not grid or not all(isinstance(v, (int, float)) and np.isfinite(v) and v > 0
                                   for v in grid):
                raise ConfigError(f"rates_{r}", "must be a non-empty list of positive numbers")
        super().check()


QUICK = dict(autoencoder.QUICK, fano_trials="0", t_test="1*second",
             rates_bd2015="0.01,0.02,0.04,0.08", rates_event2012="0.005,0.01,0.02,0.04",
             rates_hebbian2012="0.5,1,2,4")


def prepare(cfg, seed):
    """One population per (rule, learning rate), all from the same F and W0."""
    plan = autoencoder.prepare(cfg, seed)
    base = plan.populations[0]
    pops = []
    for rule in cfg.rules:
        var, unit = RULE_RATE[rule]
        for k, rate in enumerate(getattr(cfg, f"rates_{rule}")):
            m = dataclasses.replace(cfg.model, fast_rule=rule, fast_model="", fast_on_pre="",
                                    **{var: rate * unit}).resolved()
            pops.append(PopulationPlan(name=f"{rule}_{k}", model=m, W_fast0=base.W_fast0))
    plan.populations = pops
    return plan


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
        rule = pp.model.fast_rule
        var, unit = RULE_RATE[rule]
        rate = float(getattr(pp.model, var) / unit)
        raw_pop = raw["pops"][pp.name]
        W_opt = optimal_fast_weights(plan.F, pp.model.mu)
        curve = weight_curve(plan, pp, raw_pop, W_opt)
        curve["time"] = curve["time"] - sch.learn_start
        curve = curve[curve.time >= 0]
        curve.insert(0, "rate", rate)
        curve.insert(0, "rule", rule)
        curve.insert(0, "population", pp.name)
        curves.append(curve)
        st, si = raw_pop["spike_steps"], raw_pop["spike_i"]
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
        rows.append(dict(population=pp.name, rule=rule, rate=rate, stable=stable,
                         time_to_threshold=float(below.time.iloc[0]) if len(below)
                         else float("nan"),
                         final_distance=d1, final_scale=s1, rate_learning_hz=rate_learn,
                         multi_spike_fraction=msf))
    summary = pd.DataFrame(rows)
    metrics = {}
    best = {}
    for rule in cfg.rules:
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
    if "bd2015" in best:
        t15 = best["bd2015"].time_to_threshold
        for rule, pick in best.items():
            if rule != "bd2015":
                metrics[f"speed_ratio_{rule}"] = float(pick.time_to_threshold / t15)
    return RunResult(protocol="fastrules", config={}, metrics=metrics,
                     tables=dict(curves=pd.concat(curves, ignore_index=True), summary=summary),
                     arrays=dict(F=plan.F, W_initial=plan.populations[0].W_fast0))


PROTOCOL = Protocol(
    name="fastrules", config_class=FastRulesConfig, prepare=prepare, build=build,
    collect=collect, analyse=analyse, quick=QUICK, doc="Learning speed of the 2015 fast rule against the 2012 rules (Fig. 1E)",
    rerun=balanced, runtime_keys=balanced.RUNTIME_KEYS,
    object_fields=balanced.OBJECT_FIELDS)
