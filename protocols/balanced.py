"""Shared machinery of the balanced-network protocols (autoencoder, fast-rule comparison,
dynamics).

A run drives one or more populations (`PopulationPlan`) from one shared target system. The
schedule, in absolute time:

=========  ===============================  ===========================================
phase      interval                         what happens
=========  ===============================  ===========================================
before     [0, t_before)                    no plasticity, K = 0 ("before learning")
learn      [t_before, t_before + duration)  plasticity on, error feedback K on
test       next t_test                      plasticity off, K = 0, fresh command
fano       next fano_trials * fano_trial    command frozen: repeated trials of one input
=========  ===============================  ===========================================
"""

import dataclasses

import numpy as np
from brian2 import Hz, Quantity, ms, second

from locallearn.analysis import spikes
from locallearn.errors import ConfigError
from locallearn.execution import dynamic_state_variables
from locallearn.params import param, POSITIVE, NONNEGATIVE, Range
from locallearn.models.spiking import (BASE_PER_NEURON, blocks_from_values, build_population,
                                       build_target, population_values, rule_params,
                                       target_values, variable_views)
from locallearn.protocols.balanced_analysis import *  # noqa: F401,F403  (re-exported)
from locallearn.protocols.balanced_analysis import __all__ as _analysis_all
from locallearn.protocols.balanced_record import *  # noqa: F401,F403  (re-exported)
from locallearn.protocols.balanced_record import (DRIVE_VARIABLES, drive_interval,
                                                  jumps_pending, snapshot_interval,
                                                  undelivered_spikes)
from locallearn.protocols.balanced_record import __all__ as _record_all

__all__ = ["BalancedPhases", "Schedule", "PopulationPlan", "BalancedPlan", "make_schedule",
           "check_phases", "build_balanced", "collect_balanced",
           "runtime_keys"] + list(_analysis_all) + list(_record_all)


@dataclasses.dataclass(frozen=True, eq=False)
class BalancedPhases:
    """Phase durations and recording settings shared by the balanced-network protocols."""

    dt: object = param(0.1 * ms, "time step", unit=ms, check=POSITIVE)
    duration: object = param(100 * second, "duration of the learning phase", unit=second,
                             check=NONNEGATIVE)
    t_before: object = param(1 * second, "phase before learning (no plasticity)", unit=second,
                             check=NONNEGATIVE)
    t_test: object = param(5 * second, "test phase (no plasticity, K = 0)", unit=second,
                           check=POSITIVE)
    fano_trials: int = param(20, "repeated trials of a frozen command (Fano factor; 0 = none)",
                             check=Range(0, 100000))
    fano_trial: object = param(0.25 * second, "length of one repeated trial", unit=second,
                               check=POSITIVE)
    tau_c: object = param(30 * ms, "correlation time of the OU command", unit=ms,
                          check=POSITIVE)
    weights_dt: object = param(0.1 * second, "interval between weight snapshots", unit=second,
                               check=POSITIVE)
    checkpoint_every: object = param(60 * second, "simulated time between checkpoints (the run "
                                     "proceeds in segments of about this length; 0: one run)",
                                     unit=second, check=NONNEGATIVE)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Absolute phase boundaries in seconds (plain floats).

    The fast rule learns in [fast_start, learn_end); the slow rule and the error feedback in
    [learn_start, learn_end) except in probe windows (the last ``probe_len`` of every
    ``probe_every`` after ``learn_start``; ``probe_every`` None: no probes).
    """

    dt: float
    learn_start: float
    learn_end: float
    test_end: float
    end: float
    fano_trials: int
    fano_trial: float
    fast_start: float = None
    probe_every: float = None
    probe_len: float = 0.0

    def probe_windows(self):
        """(start, stop) absolute times (s) of the open-loop probe windows."""
        if not self.probe_every:
            return []
        out = []
        k = 1
        while self.learn_start + k * self.probe_every <= self.learn_end + 1e-9:
            stop = self.learn_start + k * self.probe_every
            out.append((stop - self.probe_len, stop))
            k += 1
        return out

    def step(self, t):
        """Step index of absolute time ``t`` (s)."""
        return int(round(t / self.dt))


def make_schedule(cfg, t_fast=0.0, probe_every=None, probe_len=0.0):
    """The `Schedule` of a config with `BalancedPhases` fields.

    ``t_fast`` (s): a phase in which only the fast rule learns, between ``t_before`` and the
    learning phase. ``probe_every``/``probe_len`` (s): open-loop probe windows during learning.
    """
    dt = float(cfg.dt / second)
    fs = float(cfg.t_before / second)
    ls = fs + t_fast
    le = ls + float(cfg.duration / second)
    te = le + float(cfg.t_test / second)
    end = te + cfg.fano_trials * float(cfg.fano_trial / second)
    return Schedule(dt=dt, learn_start=ls, learn_end=le, test_end=te, end=end,
                    fano_trials=cfg.fano_trials, fano_trial=float(cfg.fano_trial / second),
                    fast_start=fs, probe_every=probe_every, probe_len=probe_len)


def check_phases(cfg, lam):
    """Cross-field checks: dt below every time constant, weights_dt a multiple of dt."""
    dt = float(cfg.dt / second)
    for name, tau in (("1/lam", 1.0 / float(lam * second)), ("tau_c", float(cfg.tau_c / second))):
        if dt >= tau:
            raise ConfigError("dt", f"must be smaller than {name} = {tau:g} s, got {dt:g} s")
    ratio = float(cfg.weights_dt / cfg.dt)
    if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-6:
        raise ConfigError("weights_dt", f"must be a multiple of dt = {dt:g} s, got "
                          f"{float(cfg.weights_dt / second):g} s")
    if cfg.fano_trials and float(cfg.fano_trial / cfg.dt) < 10:
        raise ConfigError("fano_trial", "must be at least 10 time steps")


@dataclasses.dataclass
class PopulationPlan:
    """One population: its (resolved) model, initial weights and learning window."""

    name: str
    model: object
    W_fast0: np.ndarray
    W_slow0: np.ndarray = None
    slow: bool = False
    readout: bool = False
    learn: bool = True
    record_drives: bool = False


@dataclasses.dataclass
class BalancedPlan:
    """Everything drawn from the seed before building: inputs, weights, schedule."""

    schedule: Schedule
    F: np.ndarray
    A: np.ndarray           # J x J, Hz (plain floats)
    sigma_c: float          # Hz
    tau_c: float            # s
    weights_dt: float       # s
    populations: list
    scaling: dict = None    # the large-learner rule's factors (§11), for the metrics


@dataclasses.dataclass
class Built:
    """Brian2 objects of a balanced run."""

    objects: list
    duration: object
    target: object
    pops: dict
    monitors: dict


def replica_groups(populations):
    """Group populations that share every equation string into replica groups.

    Returns a list of (group name, [PopulationPlan, ...]). Members differ only in per-neuron
    values (learning rates, noise, gains) and initial weights, so one Brian2 group (one compiled
    set of code objects) simulates all of them as independent blocks.
    """
    from locallearn.params import config_to_dict

    groups = {}
    for pp in populations:
        blank = dataclasses.replace(pp.model.resolved(), rule_params={},
                                    **{v: getattr(type(pp.model)(), v) for v in BASE_PER_NEURON})
        key = (repr(config_to_dict(blank)), pp.slow, pp.readout, pp.learn)
        if pp.readout or pp.record_drives:
            key += (pp.name,)  # a readout population is always alone
        groups.setdefault(key, []).append(pp)
    out = []
    for members in groups.values():
        name = members[0].name if len(members) == 1 else f"{members[0].name}_x{len(members)}"
        out.append((name, members))
    return out


def build_balanced(cfg, plan):
    """Create target, populations (as replica groups) and monitors (inside a device session)."""
    from brian2 import SpikeMonitor, StateMonitor

    sch = plan.schedule
    dt = sch.dt * second
    model0 = plan.populations[0].model
    target = build_target(model0, plan.A, dt, plan.tau_c * second, plan.sigma_c * Hz,
                          hold_start=sch.test_end * second)
    objects = list(target.objects)
    pops, monitors = {}, {}
    has_readout = any(pp.readout for pp in plan.populations)
    monitors["target"] = StateMonitor(target.group, ["x", "c"] + (["xhat"] if has_readout
                                                                 else []), record=True)
    objects.append(monitors["target"])
    for gname, members in replica_groups(plan.populations):
        head = members[0]
        N, R = head.model.N, len(members)
        ls, le = (sch.learn_start, sch.learn_end) if head.learn else (0.0, 0.0)
        fs = (sch.fast_start if sch.fast_start is not None else ls) if head.learn else 0.0
        probes = dict(probe_every=sch.probe_every * second, probe_len=sch.probe_len * second) \
            if (sch.probe_every and head.learn) else {}
        W_slow0 = [pp.W_slow0 if pp.W_slow0 is not None else np.zeros((N, N))
                   for pp in members]
        pop = build_population([pp.model for pp in members], target, plan.F,
                               [pp.W_fast0 for pp in members], dt, ls * second, le * second,
                               W_slow=W_slow0, slow=head.slow, readout=head.readout,
                               fast_start=fs * second, name=gname, **probes)
        pops[gname] = (pop, members)
        objects += pop.objects
        monitors[f"{gname}/spikes"] = SpikeMonitor(pop.neurons)
        objects.append(monitors[f"{gname}/spikes"])
        if head.learn:
            wdt = snapshot_interval(plan, head) * second
            n_syn = R * N * N
            fast_rule = head.model.fast_definition()
            if fast_rule.plastic:
                monitors[f"{gname}/W_fast"] = StateMonitor(pop.fast, fast_rule.weight,
                                                           record=np.arange(n_syn), dt=wdt)
                objects.append(monitors[f"{gname}/W_fast"])
            if head.slow:
                monitors[f"{gname}/W_slow"] = StateMonitor(
                    pop.slow, head.model.slow_definition().weight, record=np.arange(n_syn),
                    dt=wdt)
                objects.append(monitors[f"{gname}/W_slow"])
        if head.record_drives:
            monitors[f"{gname}/drives"] = StateMonitor(pop.neurons, list(DRIVE_VARIABLES),
                                                       record=True,
                                                       dt=drive_interval(plan, head) * second)
            objects.append(monitors[f"{gname}/drives"])
    return Built(objects=objects, duration=sch.end * second, target=target, pops=pops,
                 monitors=monitors)


def collect_balanced(cfg, plan, built):
    """Read monitors and final weights into plain arrays, one entry per population."""
    mon = built.monitors["target"]
    raw = dict(x=np.asarray(mon.x_).T.copy(), c=np.asarray(mon.c_).T.copy(), pops={})
    if "xhat" in mon.record_variables:
        raw["xhat"] = np.asarray(mon.xhat_).T.copy()
    dt = plan.schedule.dt
    for gname, (pop, members) in built.pops.items():
        N, R = members[0].model.N, len(members)
        sm = built.monitors[f"{gname}/spikes"]
        steps = spikes.to_steps(sm.t_, dt)
        idx = np.asarray(sm.i[:])
        V = np.asarray(pop.neurons.V_[:])
        per = [dict(spike_steps=steps[idx // N == k], spike_i=idx[idx // N == k] % N,
                    V_final=V[k * N:(k + 1) * N].copy()) for k in range(R)]
        head = members[0].model
        for syn, var, key in ((pop.fast, head.fast_definition().weight, "W_fast"),
                              (pop.slow, head.slow_definition().weight, "W_slow")):
            if syn is None or var not in syn.variables:
                continue
            final = blocks_from_values(np.asarray(getattr(syn, var + "_")[:]), N, R)
            snap_mon = built.monitors.get(f"{gname}/{key}")
            if snap_mon is not None:
                vals = np.asarray(getattr(snap_mon, var + "_"))  # (synapses, times)
                snaps = np.moveaxis(blocks_from_values(vals, N, R), -1, 1)  # (R, t, post, pre)
            for k in range(R):
                per[k][f"{key}_final"] = final[k].copy()
                if snap_mon is not None:
                    per[k][f"{key}_t"] = snaps[k].copy()
                    per[k]["t_weights"] = np.asarray(snap_mon.t_).copy()
        dm = built.monitors.get(f"{gname}/drives")
        if dm is not None:  # a population that records drives has no replicas
            per[0]["t_rec"] = np.asarray(dm.t_).copy()
            for var in DRIVE_VARIABLES:
                per[0][f"rec_{var}"] = np.asarray(getattr(dm, var + "_")).T.copy()
            if jumps_pending(dm.when):
                undelivered_spikes(per[0], dt)
        for pp, d in zip(members, per):
            raw["pops"][pp.name] = d
    return raw


# ============================================================================================
# Hooks for reruns: point values, state between segments, merging, divergence
# ============================================================================================
def run_args(cfg, plan, built, state=None, t_offset=0.0):
    """Every value that may differ between reruns of one compiled network ({VariableView:
    value}): parameters, initial weights, the time offset and, for a continued segment, the
    state (``state`` from `final_state`)."""
    tv = target_values(plan.A, plan.sigma_c * Hz, t_offset)
    if state is not None:
        tv[("group", "x")] = state["target/x"]
        tv[("group", "c")] = state["target/c"] * Hz
    views = variable_views(built.target, tv)
    current = {pp.name: pp for pp in plan.populations}
    for gname, (pop, built_members) in built.pops.items():
        members = [current[pp.name] for pp in built_members]  # this point's values
        N = members[0].model.N
        W_slow0 = [pp.W_slow0 if pp.W_slow0 is not None else np.zeros((N, N))
                   for pp in members]
        vals = population_values([pp.model for pp in members], plan.F,
                                 [pp.W_fast0 for pp in members], W_slow0, t_offset)
        if state is not None:
            for attr, var in _state_variables(pop):
                value = state[f"{gname}/{attr}.{var}"]
                dim = getattr(pop, attr).variables[var].dim
                vals[(attr, var)] = value if dim.is_dimensionless else Quantity(value, dim=dim)
        views.update(variable_views(pop, vals))
    return views


def _state_variables(pop):
    """(attribute, variable) of every dynamic state variable of a population: the neurons' and
    the fast and slow synapses' variables that are neither constant nor read-only (whatever the
    equations define, so an edited model keeps all its state across segments)."""
    for attr in ("neurons", "fast", "slow"):
        obj = getattr(pop, attr)
        if obj is None:
            continue
        for name in dynamic_state_variables(obj):
            yield attr, name


def final_state(built):
    """The dynamic state at the end of a run (plain arrays in SI units keyed 'group/variable'):
    x, c of the target; every dynamic state variable of each population group's neurons and
    synapses (keys 'GROUP/neurons.V', 'GROUP/fast.w', ...)."""
    g = built.target.group
    out = {"target/x": np.asarray(g.x_[:]).copy(), "target/c": np.asarray(g.c_[:]).copy()}
    for gname, (pop, _) in built.pops.items():
        for attr, var in _state_variables(pop):
            values = getattr(getattr(pop, attr), var + "_")[:]
            out[f"{gname}/{attr}.{var}"] = np.asarray(values).copy()
    return out


def merge(cfg, plan, raws, offsets):
    """Join the raw arrays of consecutive segments; ``offsets`` are their first steps."""
    if len(raws) == 1:
        return raws[0]
    dt = plan.schedule.dt
    out = {k: np.concatenate([r[k] for r in raws]) for k in ("x", "c", "xhat") if k in raws[0]}
    out["pops"] = {}
    for name in raws[0]["pops"]:
        parts = [r["pops"][name] for r in raws]
        d = dict(spike_steps=np.concatenate([p["spike_steps"] + o for p, o in zip(parts, offsets)]),
                 spike_i=np.concatenate([p["spike_i"] for p in parts]))
        for key in parts[-1]:
            if key.endswith("_final"):
                d[key] = parts[-1][key]
            elif key.endswith("_t") or key.startswith("rec_"):
                d[key] = np.concatenate([p[key] for p in parts])
        for tkey in ("t_weights", "t_rec"):
            if tkey in parts[0]:
                d[tkey] = np.concatenate([p[tkey] + o * dt for p, o in zip(parts, offsets)])
        out["pops"][name] = d
    return out


#: Brian2 object-name fragment -> the config fields whose strings define it (error messages).
OBJECT_FIELDS = dict(neurons=("neuron_eqs", "threshold", "reset", "schedule_code"),
                     fast=("fast_model", "fast_on_pre"), wta=("wta_model",),
                     target=("target_eqs",), slow=("slow_model",))

#: Protocol keys that reach the compiled network through `run_args` (no rebuild in sweeps).
RUNTIME_KEYS = ("x_std", "W0_diag", "W0_spread", "F", "W_init", "W_fast_init", "W_slow_init",
                "A", "system")


def runtime_keys(cfg):
    """Config keys that reach the compiled network through `run_args` (no rebuild in sweeps):
    the per-neuron values (K, sigma_V and every rule's parameters) and `RUNTIME_KEYS`."""
    return tuple(f"model.{p}" for p in BASE_PER_NEURON + tuple(rule_params())) + RUNTIME_KEYS

#: Mean population rate (Hz) above which a run counts as diverged.
MAX_POPULATION_RATE = 1000.0


def divergence(cfg, plan, raw, state, t0, t1):
    """A one-line reason if the segment [t0, t1) s diverged, else None: non-finite state or a
    mean population rate above `MAX_POPULATION_RATE` in any population."""
    for key, value in state.items():
        if not np.all(np.isfinite(value)):
            bad = np.flatnonzero(~np.isfinite(np.ravel(value)))
            return (f"non-finite {key} (first at index {bad[0]}) by t = {t1:g} s "
                    f"(segment {t0:g}-{t1:g} s)")
    for name, d in raw["pops"].items():
        N = next(pp.model.N for pp in plan.populations if pp.name == name)
        rate = len(d["spike_steps"]) / N / max(t1 - t0, 1e-12)
        if rate > MAX_POPULATION_RATE:
            return (f"population {name} fired at {rate:.0f} Hz on average in {t0:g}-{t1:g} s "
                    f"(bound {MAX_POPULATION_RATE:g} Hz)")
    return None

