"""Protocol ``mnist1d``: GLE's MNIST-1D benchmark as one continuous input stream, single-stream
(batch 1) training (docs/latent-equilibrium.md §8).

Input: every MNIST-1D sequence (`locallearn.protocols.mnist1d_data`) resampled to ``n_points``
(72) points, each held ``point_len`` (1 time unit = 5 steps of dt = 0.2), one scalar stream, no
reset between sequences. Network (the spec's): ``n_layers`` hidden layers of ``n_le`` LE units
(tau_m = tau_r = ``tau_le``) and ``n_li`` LI units (tau_r = ``tau_r_li``, half with tau_m =
``tau_li_fast``, half ``tau_li_slow``), the first hidden layer linear, the others tanh; a linear
output of 10 units with the cross-entropy error beta (y* - softmax(r)) at every step
(`locallearn.models.rate_softmax`). Continuous-time Adam (see §8 for how its rates follow from
the paper's batch of 100), the learning rate times ``lr_epoch_decay`` after every epoch.

GLE, VLE and instantaneous backprop learn side by side from one stream and the same initial
weights (replicas of one compiled group). Each epoch is one run segment of the compiled network
(checkpointed, ``--resume`` continues): the ``n_train`` training sequences in a fresh order with
learning on, then the ``n_test`` held-out sequences with learning off (the schedule's
``plastic`` flag). Prediction = argmax of the output summed over a sequence.

Tables: ``epochs`` (method, epoch, train_loss, train_accuracy, test_loss, test_accuracy, eta),
``confusion`` (method, true, predicted, count; last epoch). Headline metrics:
``accuracy_<method>`` (test accuracy after the last epoch, 0-1), ``accuracy`` (of ``method``),
``best_accuracy_<method>``, ``chance_level``, ``epoch_wall_s`` (wall seconds per epoch).
"""

import dataclasses
import time

import numpy as np
import pandas as pd
from brian2 import Hz, second

from locallearn.errors import ConfigError
from locallearn.execution import dynamic_state_variables
from locallearn.models import rate, rate_softmax
from locallearn.models.rate import RateModel, Replica
from locallearn.params import param, Choice, Range, POSITIVE
from locallearn.protocol_record import Protocol
from locallearn.protocols import mnist1d_data
from locallearn.protocols import rate_common as rc
from locallearn.results import RunResult

__all__ = ["Mnist1dConfig", "PROTOCOL", "QUICK"]

#: Input: the point of the current sequence (step arithmetic; ``t_off`` is the segment's start).
INPUT_EQS = """
t_off : second (constant)                        # time of this run segment's start
nstep : 1                                        # step number since the run's start
sample : 1                                       # sequence number since the run's start
kstep : 1                                        # step within the sequence
"""
INPUT_CODE = """
nstep = floor((t + t_off)/dt + 0.5)
sample = floor(nstep/steps_per_sample)
kstep = nstep - sample*steps_per_sample
r_s = seqs((floor(kstep/steps_per_point) + 0.5)*point_len, int(order((sample + 0.5)*sample_len)))
"""
#: One-hot target of the current sequence, at every step (learning is gated by ``plastic``).
TARGET_CODE = """
y_tgt = int(abs(cls - labels((floor((t + t_off)/sample_len + half_step) + 0.5)*sample_len)) < 0.5)
mask = 1.0
"""


def _model():
    return RateModel(operator="gle", optimizer="adam", gamma=0.0, beta=1.0, eta=2e-5 * Hz,
                     tau_adam1=144 * second, tau_adam2=14400 * second,
                     output_error_eqs=rate_softmax.OUTPUT_CE_EQS)


@dataclasses.dataclass(frozen=True, eq=False)
class Mnist1dConfig:
    """Configuration of the MNIST-1D protocol (defaults: the paper's network, single stream)."""

    model: RateModel = dataclasses.field(default_factory=_model)
    method: str = param("gle", "headline method (also run)", kind="str")
    methods: list = param(["gle", "vle", "instantaneous"], "methods run side by side",
                          kind="list")
    dt: object = param(0.2 * second, "time step", unit=second, check=POSITIVE)
    n_epochs: int = param(30, "epochs (one checkpointed run segment each)", check=Range(1, 10000))
    n_train: int = param(4000, "training sequences per epoch (the first of the 4000)",
                         check=Range(1, 4000))
    n_test: int = param(1000, "held-out test sequences (weights frozen)", check=Range(1, 1000))
    eval_set: str = param("test", "frozen sequences: 'test' (the first n_test of the 1000 test "
                          "sequences) or 'validation' (the last n_test of the 4000 training "
                          "sequences, never trained on; for choosing settings)", kind="str",
                          check=Choice("test", "validation"))
    train_order: str = param("random", "order of the training sequences in each epoch: "
                             "'random' (a fresh permutation) or 'balanced' (a fresh permutation "
                             "with every class spread evenly over the epoch)", kind="str",
                             check=Choice("random", "balanced"))
    n_points: int = param(72, "points per sequence after resampling", check=Range(2, 10000))
    point_len: object = param(1.0 * second, "time each point is held", unit=second,
                              check=POSITIVE)
    n_layers: int = param(6, "hidden layers", check=Range(1, 50))
    n_le: int = param(17, "LE units per hidden layer (tau_m = tau_r = tau_le)",
                      check=Range(0, 10000))
    n_li: int = param(36, "LI units per hidden layer (tau_r = tau_r_li; even)",
                      check=Range(0, 10000))
    tau_le: object = param(1.2 * second, "tau_m = tau_r of the LE units", unit=second,
                           check=POSITIVE)
    tau_li_fast: object = param(0.6 * second, "tau_m of half the LI units", unit=second,
                                check=POSITIVE)
    tau_li_slow: object = param(1.2 * second, "tau_m of the other half", unit=second,
                                check=POSITIVE)
    tau_r_li: object = param(0.2 * second, "tau_r of the LI units (GLE: dt)", unit=second,
                             check=POSITIVE)
    lr_epoch_decay: float = param(0.9, "learning rate factor per epoch, dimensionless",
                                  check=Range(0.0, 1.0))
    w_scale: float = param(1.0, "initial weights U(+-w_scale/sqrt(fan_in)), dimensionless",
                           check=POSITIVE)
    data_seed: int = param(42, "seed of the generated data set (mnist1d default: 42)",
                           check=Range(0, 2 ** 31 - 1))

    @property
    def checkpoint_every(self):
        """One epoch (training and test sequences) per run segment (Quantity, second)."""
        return (self.n_train + self.n_test) * self.n_points * self.point_len

    def check(self):
        """Methods known; dt divides point_len and is below every tau_m; units exist."""
        rc.check_methods(self.methods)
        rc.parse_method(self.method, "method")
        if self.eval_set == "validation" and self.n_train + self.n_test > 4000:
            raise ConfigError("n_test", f"with eval_set = validation n_train + n_test must be at "
                              f"most 4000, got {self.n_train} + {self.n_test}")
        if self.n_li % 2:
            raise ConfigError("n_li", f"must be even (two LI time constants), got {self.n_li}")
        if self.n_le + self.n_li < 1:
            raise ConfigError("n_le", "n_le + n_li must be at least 1")
        rc.check_multiple(self, "point_len", self.dt, "dt")
        rc.check_dt(self.dt, {"tau_le": float(self.tau_le / second),
                              "tau_li_fast": float(self.tau_li_fast / second),
                              "tau_li_slow": float(self.tau_li_slow / second)})


#: --quick: 6 hidden layers (the paper's depth) of 6 LE + 12 LI units, initial weights
#: U(+-1.7/sqrt(fan_in)) (about variance-preserving), the sequences at their native 40 points,
#: all 1000 test sequences, 7 epochs, classes spread evenly over each epoch, Adam averaging over
#: about 18 sequences, x0.8 per epoch (chosen on a validation split, §8).
QUICK = {"n_layers": "6", "n_le": "6", "n_li": "12", "w_scale": "1.7", "n_points": "40",
         "n_epochs": "7", "train_order": "balanced", "lr_epoch_decay": "0.8",
         "model.eta": "2e-4*Hz", "model.tau_adam1": "720*second",
         "model.tau_adam2": "72000*second"}


@dataclasses.dataclass
class Mnist1dPlan:
    """Data, sequence orders, initial weights and method groups (seconds as floats)."""

    seqs: np.ndarray       # (n_points, n_train + n_test): column = sequence
    labels: np.ndarray     # (n_train + n_test,) class of each column
    order: np.ndarray      # (n_epochs, n_train + n_test): columns shown in each epoch
    groups: list
    sizes: list
    dt: float
    steps_per_point: int
    steps_per_sample: int
    sample_len: float
    epoch_len: float
    train_len: float
    eta: float
    methods: list
    timing: dict = dataclasses.field(default_factory=dict)


def _taus(cfg):
    le = np.full(cfg.n_le, float(cfg.tau_le / second))
    h = cfg.n_li // 2
    li = np.concatenate([np.full(h, float(cfg.tau_li_fast / second)),
                         np.full(h, float(cfg.tau_li_slow / second))])
    tau_m = np.concatenate([le, li])
    tau_r = np.concatenate([le, np.full(cfg.n_li, float(cfg.tau_r_li / second))])
    return tau_m, tau_r


def balanced_order(labels, rng):
    """A permutation of range(len(labels)) in which every class is spread evenly: the j-th of
    the n_k sequences of class k (in random order) lands at a random point of [j, j + 1) / n_k
    of the epoch, so any stretch of the epoch shows each class at its overall frequency (to
    within one sequence). ``labels``: integer classes; ``rng``: numpy Generator."""
    labels = np.asarray(labels)
    pos = np.empty(len(labels))
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        pos[idx] = (np.arange(len(idx)) + rng.uniform(size=len(idx))) / len(idx)
    return np.argsort(pos, kind="stable")


def prepare(cfg, seed):
    """Data (generated or cached), per-epoch orders and initial weights from ``seed``."""
    d = mnist1d_data.load(cfg.data_seed)
    if cfg.eval_set == "validation":  # the last n_test training sequences, held out
        xe, ye = d["x"][-cfg.n_test:], d["y"][-cfg.n_test:]
    else:
        xe, ye = d["x_test"][:cfg.n_test], d["y_test"][:cfg.n_test]
    x = np.concatenate([d["x"][:cfg.n_train], xe])
    labels = np.concatenate([d["y"][:cfg.n_train], ye]).astype(float)
    seqs = mnist1d_data.upsample(x, cfg.n_points).T.copy()
    # two streams, so the initial weights do not depend on n_epochs, n_train or train_order
    w_rng, o_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    test_cols = np.arange(cfg.n_train, cfg.n_train + cfg.n_test)
    shuffle = (lambda: balanced_order(labels[:cfg.n_train], o_rng)) \
        if cfg.train_order == "balanced" else (lambda: o_rng.permutation(cfg.n_train))
    order = np.stack([np.concatenate([shuffle(), test_cols])
                      for _ in range(cfg.n_epochs)]).astype(float)
    n_hid = cfg.n_le + cfg.n_li
    sizes = [1] + [n_hid] * cfg.n_layers + [10]
    W, b = rate.initial_weights(sizes, w_rng, cfg.w_scale)
    Brand = [None, None] + [w_rng.uniform(-1, 1, (sizes[l - 1], sizes[l])) / np.sqrt(sizes[l])
                            for l in range(2, len(sizes))]
    tm, tr = _taus(cfg)
    n_l = len(sizes) - 1
    tau_m = [None] + [tm] * cfg.n_layers + [np.ones(10)]
    tau_r = [None] + [tr] * cfg.n_layers + [np.ones(10)]
    eta = float(cfg.model.eta / Hz)
    methods = list(cfg.methods) + ([cfg.method] if cfg.method not in cfg.methods else [])
    groups = rc.group_methods(cfg.model, methods, lambda label, op, fb: None, prefix="mnist")
    gp = groups[0]
    reps = []
    for label in gp.labels:
        op, fb = rc.parse_method(label)
        Bs = [None, None]
        kappa, fb_plastic = 0.0, 1.0
        for l in range(2, n_l + 1):
            f = rc.feedback_fields(fb, W[l].T, Brand[l], cfg.model.kappa / Hz)
            Bs.append(f["B"])
            kappa, fb_plastic = f["kappa"], f["fb_plastic"]
        reps.append(Replica(name=label, W=[w if w is None else w.copy() for w in W],
                            b=[v if v is None else v.copy() for v in b], tau_m=tau_m,
                            tau_r=tau_r, eta=[None] + [eta] * n_l, eta_b=[None] + [eta] * n_l,
                            eta_tau=[None] + [0.0] * n_l, B=Bs, kappa=kappa,
                            fb_plastic=fb_plastic, selector=gp.operators.index(op)))
    gp.replicas = reps
    dt = float(cfg.dt / second)
    spp = int(round(float(cfg.point_len / second) / dt))
    sample_len = cfg.n_points * spp * dt
    return Mnist1dPlan(seqs=seqs, labels=labels, order=order, groups=groups, sizes=sizes,
                       dt=dt, steps_per_point=spp, steps_per_sample=cfg.n_points * spp,
                       sample_len=sample_len, epoch_len=(cfg.n_train + cfg.n_test) * sample_len,
                       train_len=cfg.n_train * sample_len, eta=eta, methods=methods)


def memory(cfg):
    """Counts for the memory check: synapses and neurons of all methods; two values per output
    unit and sequence recorded."""
    n = len(cfg.methods) + 1
    h = cfg.n_le + cfg.n_li
    syn = h + (cfg.n_layers - 1) * h * h + 10 * h
    seqs = cfg.n_epochs * (cfg.n_train + cfg.n_test)
    return rc.memory_need(seqs * cfg.n_points * cfg.point_len, cfg.dt, 0,
                          synapses=n * (2 * syn + 100), neurons=n * (h * cfg.n_layers + 11),
                          snapshots=seqs, per_snapshot=2 * 10 * n,
                          knobs="n_epochs/n_train/n_layers")


def build(cfg, plan):
    """Input, the method group with its softmax synapses, and the per-sequence monitor."""
    from brian2 import StateMonitor, TimedArray

    dt = plan.dt * second
    T = plan.sample_len * second
    ns = dict(seqs=TimedArray(plan.seqs, dt=cfg.point_len),
              order=TimedArray(plan.order.ravel(), dt=T),
              labels=TimedArray(plan.labels[plan.order.ravel().astype(int)], dt=T),
              steps_per_sample=float(plan.steps_per_sample),
              steps_per_point=float(plan.steps_per_point), point_len=cfg.point_len,
              sample_len=T, half_step=0.5 / plan.steps_per_sample)
    inp = rate.build_input(1, INPUT_EQS, INPUT_CODE, dt, ns, name="mnist_input")
    phis = ["linear"] + ["tanh"] * (cfg.n_layers - 1) + ["linear"]
    groups = rc.build_groups(plan.groups, plan.sizes, phis, inp, dt, 0 * second,
                             plan.train_len * second, target_code=TARGET_CODE, namespace=ns)
    objects = [inp]
    monitors = {}
    for name, g in groups.items():
        rate_softmax.connect_softmax(g, dt)
        objects += g.objects
        monitors[f"{name}/out"] = StateMonitor(g.layers[-1], ["osum", "cesum"], record=True,
                                               when="start", dt=T)
    objects += list(monitors.values())
    return rc.Built(objects=objects, duration=cfg.n_epochs * plan.epoch_len * second,
                    groups=groups, monitors=monitors)


def collect(cfg, plan, built):
    """Per sequence of the segment: output summed over the sequence (times dt) and the
    cross-entropy summed over it (times dt), per group (n_seq, units)."""
    raw = dict(groups={})
    for name, g in built.groups.items():
        m = built.monitors[f"{name}/out"]
        out = g.layers[-1]
        osum = np.vstack([np.asarray(m.osum_).T, np.asarray(out.osum_[:])[None, :]])
        ce = np.vstack([np.asarray(m.cesum_).T, np.asarray(out.cesum_[:])[None, :]])
        raw["groups"][name] = dict(osum=np.diff(osum, axis=0), ce=np.diff(ce, axis=0))
    raw["wall_end"] = np.array([time.time()])
    return raw


def _state_variables(obj):
    """Names of the dynamic state variables of a Brian2 group, except the read-out integrators
    (reset every segment)."""
    return dynamic_state_variables(obj, skip=("osum", "cesum"))


def final_state(built):
    """Every dynamic state variable of every layer and synapse (SI values, 'object/var')."""
    out = {}
    for g in built.groups.values():
        for obj in g.objects:
            for var in _state_variables(obj):
                out[f"{obj.name}/{var}"] = np.asarray(getattr(obj, var + "_")[:]).copy()
    return out


def run_args(cfg, plan, built, state=None, t_offset=0.0):
    """Values of segment (epoch) k = t_offset / epoch_len: time offset, learning window
    [0, train_len) with the Adam step count continued, learning rate eta lr_epoch_decay^k, and
    the state after the previous epoch."""
    from brian2 import Quantity

    k = int(round(t_offset / plan.epoch_len))
    factor = cfg.lr_epoch_decay ** k
    views = {built.objects[0].t_off: t_offset * second}
    for g in built.groups.values():
        for l, layer in enumerate(g.layers, start=1):
            views[layer.learn_start] = -k * plan.train_len * second
            views[layer.learn_end] = plan.train_len * second
            for var in ("eta", "eta_b"):  # each replica's own rate, times the epoch's factor
                base = np.concatenate([np.full(g.sizes[l], getattr(rep, var)[l])
                                       for rep in g.replicas])
                views[getattr(layer, var)] = base * factor * Hz
        views[g.layers[-1].t_off] = t_offset * second
        if state is not None:
            for obj in g.objects:
                for var in _state_variables(obj):
                    dim = obj.variables[var].dim
                    value = state[f"{obj.name}/{var}"]
                    views[getattr(obj, var)] = value if dim.is_dimensionless \
                        else Quantity(value, dim=dim)
    return views


def merge(cfg, plan, raws, offsets):
    """Join the segments' per-sequence arrays (in order)."""
    out = dict(groups={}, wall_end=np.concatenate([r["wall_end"] for r in raws]))
    for name in raws[0]["groups"]:
        out["groups"][name] = {k: np.concatenate([r["groups"][name][k] for r in raws])
                               for k in ("osum", "ce")}
    return out


def divergence(cfg, plan, raw, state, t0, t1):
    """A one-line reason if the epoch [t0, t1) s left non-finite state, else None."""
    for key, value in state.items():
        if not np.all(np.isfinite(value)):
            return f"non-finite {key} by t = {t1:g} s (epoch {t0 / plan.epoch_len + 1:.0f})"
    return None


class _Rerun:
    """The rerun hooks of this protocol (`locallearn.execution`)."""

    run_args = staticmethod(run_args)
    final_state = staticmethod(final_state)
    merge = staticmethod(merge)
    divergence = staticmethod(divergence)


def analyse(cfg, plan, raw):
    """Per-epoch train/test loss and accuracy, confusion matrix of the last epoch."""
    n_seq = cfg.n_train + cfg.n_test
    rows, conf = [], []
    metrics = {}
    true_all = plan.labels[plan.order.astype(int)]  # (n_epochs, n_seq)
    test_true = plan.labels[cfg.n_train:]
    metrics["chance_level"] = float(np.bincount(test_true.astype(int), minlength=10).max()
                                    / cfg.n_test)
    for gp in plan.groups:
        d = raw["groups"][gp.name]
        n_ep = d["osum"].shape[0] // n_seq
        for r, label in enumerate(gp.labels):
            osum = d["osum"][:, r * 10:(r + 1) * 10].reshape(n_ep, n_seq, 10)
            ce = d["ce"][:, r * 10:(r + 1) * 10].sum(axis=1).reshape(n_ep, n_seq) / plan.sample_len
            pred = np.argmax(osum, axis=2)
            correct = pred == true_all[:n_ep]
            for k in range(n_ep):
                tr, te = slice(0, cfg.n_train), slice(cfg.n_train, n_seq)
                rows.append(dict(method=label, epoch=k + 1,
                                 train_loss=float(ce[k, tr].mean()),
                                 train_accuracy=float(correct[k, tr].mean()),
                                 test_loss=float(ce[k, te].mean()),
                                 test_accuracy=float(correct[k, te].mean()),
                                 eta_hz=plan.eta * cfg.lr_epoch_decay ** k))
            cm = np.zeros((10, 10), int)
            np.add.at(cm, (test_true.astype(int), pred[-1, cfg.n_train:]), 1)
            conf += [dict(method=label, true=i, predicted=j, count=int(cm[i, j]))
                     for i in range(10) for j in range(10)]
    epochs = pd.DataFrame(rows)
    for label in plan.methods:
        sub = epochs[epochs.method == label]
        metrics[f"accuracy_{label}"] = float(sub.test_accuracy.iloc[-1])
        metrics[f"best_accuracy_{label}"] = float(sub.test_accuracy.max())
        metrics[f"train_loss_end_{label}"] = float(sub.train_loss.iloc[-1])
    metrics["accuracy"] = metrics[f"accuracy_{cfg.method}"]
    metrics["method"] = cfg.method
    metrics["eval_set"] = cfg.eval_set
    metrics["epochs"] = int(epochs.epoch.max())
    walls = np.diff(np.asarray(raw.get("wall_end", []), float))
    if walls.size:
        metrics["epoch_wall_s"] = float(np.median(walls))
    return RunResult(protocol="mnist1d", config={}, metrics=metrics,
                     tables=dict(epochs=epochs, confusion=pd.DataFrame(conf)),
                     arrays=dict(order=plan.order))


PROTOCOL = Protocol(
    name="mnist1d", config_class=Mnist1dConfig, prepare=prepare, build=build, collect=collect,
    analyse=analyse, quick=QUICK, rerun=_Rerun,
    doc="MNIST-1D (GLE's benchmark): GLE, VLE and instantaneous backprop, single stream",
    object_fields=rc.object_fields(8), memory=memory)
