"""Builders of the balanced spiking networks (Bourdoukan & Denève, NIPS 2015).

Derivations: ``docs/balanced-spiking.md`` (cited as §N). The equations and the model record are in
`locallearn.models.spiking_model`, the plasticity rules in `locallearn.models.spiking_rules`; both
are re-exported here.

One network serves both paper models. The autoencoder (§1, §2) is the dynamical-system learner
(§3) with A = -lambda I, K = 0 and no slow synapses (§4).

Groups and pathways (every one inside the Brian2 subset that brian2genn supports, §8):

``target`` (J units)
    The command c (Ornstein-Uhlenbeck noise), the target x (dx/dt = A x + c) and the decoded output
    x_hat = D r (summed from the neurons).
``neurons`` (N units)
    Leaky integrate-and-fire predictive-coding neurons: membrane V, feedforward drive drive_ff,
    filtered spike train r, and one per-neuron constant for each parameter of the active rules.
``ff``
    target -> neurons, summed ``I_ff = F c``.
``A``
    target -> target, summed ``Ax = A x``.
``fast``
    neurons -> neurons (all pairs, the diagonal *is* the reset), on-spike jumps ``V += w``
    and the fast plasticity rule (§2).
``wta``
    neurons -> neurons (i != j), summed ``n_above``: how many other neurons have a larger
    excess V - T. The threshold fires only the neuron with none above it (§4). With
    ``wta_count="events"`` the same count comes from ``above`` events (V > T) instead: only the
    rows of neurons above threshold are read (see `add_wta`).
``readout``
    neurons -> target, summed ``xhat = F^T r`` (dynamics only).
``feedback``
    target -> neurons, summed ``Fe = F (x - xhat)`` (dynamics only).
``slow``
    neurons -> neurons, summed ``I_slow = W_s r`` and the slow rule (§3, dynamics only).

Parameters that a compile-once sweep varies (the rules' own, ``K``, ``sigma_V``, ``sigma_c``) are
per-neuron (per-channel) constants, so a standalone binary can be rerun with other values
(``run_args``) without recompiling.
"""

import dataclasses

import numpy as np
from brian2 import Hz, second

from locallearn.models.spiking_model import *  # noqa: F401,F403  (re-exported)
from locallearn.models.spiking_model import (A_MODEL, FEEDBACK_MODEL, FF_MODEL, NEURON_VARIABLES,
                                             READOUT_MODEL, TARGET_SCHEDULE_CODE,
                                             TARGET_VARIABLES, WTA_EVENT, WTA_EVENT_ON_PRE,
                                             WTA_EVENT_RESET, WTA_EXCESS_CODE,
                                             WTA_ARBITER_EQS, WTA_ARBITER_RESET,
                                             WTA_ARGMAX_MODEL, WTA_ARGMAX_ON_PRE, WTA_EVERY)
from locallearn.models.spiking_model import __all__ as _model_all
from locallearn.models.spiking_rules import *  # noqa: F401,F403  (re-exported)
from locallearn.models.spiking_rules import __all__ as _rules_all

__all__ = list(_model_all) + list(_rules_all) + [
    "require_variables", "use_clock", "build_target", "build_population", "Target",
    "SpikingNetwork", "block_pairs", "block_values", "blocks_from_values", "target_values",
    "population_values", "apply_values", "variable_views", "add_wta",
]


def require_variables(group, names, field):
    """Raise `ConfigError` naming ``field`` if ``group`` lacks any of ``names``."""
    from locallearn.errors import ConfigError

    missing = [n for n in names if n not in group.variables]
    if missing:
        raise ConfigError(field, "must define the variables " + ", ".join(names)
                          + " (missing: " + ", ".join(missing) + ")")


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
    """Create the target system dx/dt = A x + c with an OU command (§3).

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
        Add slow synapses (§3).
    readout : bool
        Add the readout x_hat = F^T r into the target and the error feedback F e (§3). Only
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
    ns = dict(lam=m.lam, mu=m.mu, fast_ratio=m.fast_ratio,
              learn_start=learn_start,
              learn_end=learn_end, fast_start=learn_start if fast_start is None else fast_start,
              probe_every=1e9 * second if probe_every is None else probe_every,
              probe_len=0 * second if probe_len is None else probe_len)

    events = ({"above": WTA_EVENT} if m.wta and m.wta_count == "events" else
              {"every": WTA_EVERY} if m.wta and m.wta_count == "argmax" else None)
    neurons = NeuronGroup(N * R, m.neuron_equations(), threshold=m.threshold, reset=m.reset,
                          method="euler", namespace=ns, name=f"{name}_neurons", events=events)
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
        wta = add_wta(m, neurons, N, R, ns, name)
        pop.wta = wta[0]
        objs += wta
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


def add_wta(m, neurons, N, R, ns, name):
    """The one-spike rule's ``wta`` synapses between the neurons of each block (§4).

    ``m.wta_count == "summed"``: the summed variable ``n_above`` of ``m.wta_model`` over all
    N (N - 1) pairs, evaluated every step before the neurons integrate (Brian2's ``groups`` slot,
    order -1), so the threshold reads a count one step old.

    ``"events"``: the same count with work only for the neurons above threshold. Per step:
    ``excess_old = V - T`` is stored where the summed count reads V (``groups``, order -1);
    after the neurons integrate, every neuron with V > T emits an ``above`` event (``thresholds``,
    order -3), clears its ``n_above`` (-2) and its row of ``wta`` synapses adds to it the
    neurons whose ``excess_old`` beats its own (-1); the spike threshold (order 0) then fires
    only a neuron with ``n_above < 0.5``. A neuron below threshold cannot fire, so its stale
    count is never read: the spikes equal the summed count's, at (neurons above threshold) x N
    operations per step instead of N^2. Needs custom events (runtime, cpp_standalone,
    brian2cuda; not brian2genn).

    ``"argmax"``: the same winner from one pass over the neurons. Each step, before the neurons
    integrate (``groups`` slot), the arbiter of each block (a group of R units) is cleared (order
    -4), every neuron emits an ``every`` event (-3), its one synapse to the arbiter keeps the
    largest excess so far and its rank (-2; ties: the lower rank, as in the summed count), and
    the summed ``n_above`` of the ``wta`` synapses (arbiter -> neurons, -1) is 0 for the
    winner, 1 for the rest. 3 N operations per step whatever the number above threshold. The
    arbiter's writes are sequential per block (a reduction), so a GPU serialises them.

    Returns the list of created objects, the ``wta`` synapses first.
    """
    from brian2 import NeuronGroup, Synapses

    if m.wta_count == "argmax":
        arb = NeuronGroup(R, WTA_ARBITER_EQS, namespace=ns, name=f"{name}_wta_arbiter")
        arb.run_regularly(WTA_ARBITER_RESET, when="groups", order=-4)
        neurons.thresholder["every"].when, neurons.thresholder["every"].order = "groups", -3
        into = Synapses(neurons, arb, on_pre=WTA_ARGMAX_ON_PRE, on_event="every",
                        namespace=ns, name=f"{name}_wta_into")
        into.pre.when, into.pre.order = "groups", -2
        into.connect(i=np.arange(N * R), j=np.arange(N * R) // N)
        back = Synapses(arb, neurons, WTA_ARGMAX_MODEL, namespace=ns, name=f"{name}_wta")
        back.connect(i=np.arange(N * R) // N, j=np.arange(N * R))
        back.summed_updaters["n_above_post"].order = -1
        return [back, arb, into]
    wpre, wpost = block_pairs(N, R, self_connections=False)  # the N (N - 1) pairs of each block
    if m.wta_count != "events":
        syn = Synapses(neurons, neurons, m.wta_model, namespace=ns, name=f"{name}_wta")
        syn.connect(i=wpre, j=wpost)
        return [syn]
    neurons.run_regularly(WTA_EXCESS_CODE, when="groups", order=-1, name=f"{name}_wta_excess")
    neurons.thresholder["above"].when, neurons.thresholder["above"].order = "thresholds", -3
    neurons.run_on_event("above", WTA_EVENT_RESET, when="thresholds", order=-2)
    syn = Synapses(neurons, neurons, on_pre=WTA_EVENT_ON_PRE, on_event="above", namespace=ns,
                   name=f"{name}_wta")
    syn.pre.when, syn.pre.order = "thresholds", -1
    syn.connect(i=wpre, j=wpost)
    return [syn]


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
            ("fast", models[0].fast_definition().weight): block_values(W_fast),
            ("readout", "D"): F.ravel(),  # synapse (pre neuron i, post channel d): F[i, d]
            ("feedback", "Fb"): F.T.ravel()}
    for var in models[0].resolved().per_neuron_params():
        vals[("neurons", var)] = _repeat_quantity([getattr(mk, var) for mk in models], N)
    if W_slow is None:
        W_slow = [np.zeros((N, N))] * R
    W_slow = list(W_slow) if isinstance(W_slow, (list, tuple)) else [W_slow]
    vals[("slow", models[0].slow_definition().weight)] = block_values(W_slow) * Hz
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
