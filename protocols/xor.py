"""Protocol ``xor``: temporal XOR (docs/latent-equilibrium.md §7; the protocol is ours, no primary
source).

Two input channels. Each trial shows a +1 or -1 pulse (``pulse``, 1 time unit) on channel 1,
then after a delay ``delay`` (2 time units) a +1 or -1 pulse on channel 2; during a response
window (``window``, 2 time units) after the second pulse the target is -1 if the signs are equal
and +1 if they differ; no error is given outside the window. Trials follow each other without
reset (trial length 6 time units). Network 2 -> 16 -> 1: 8 retrospective (tau_r = 0.1) and 8
instantaneous (tau_r = tau_m) tanh units, tau_m log-spaced from 0.5 to 4; linear instantaneous
output; initial weights and biases U(+-1/sqrt(fan_in)) (pinned scale, §7 pitfalls); Adam
every step. The methods (default VLE (ours), GLE, feedback alignment (VLE traces, random fixed
B) and instantaneous backprop) learn side by side from one input stream and the same initial
weights; then plasticity stops and ``n_test`` held-out trials are scored.

Headline metrics: ``accuracy`` (for ``method``) and ``accuracy_<method>``: fraction of the
held-out trials whose mean output in the response window has the target's sign;
``chance_level``: the majority-class fraction of the held-out targets.
"""

import dataclasses

import numpy as np
import pandas as pd
from brian2 import second, Hz

from locallearn.errors import ConfigError
from locallearn.models import rate
from locallearn.models.rate import RateModel, Replica
from locallearn.params import param, Range, POSITIVE
from locallearn.protocol_record import Protocol
from locallearn.protocols import rate_common as rc
from locallearn.results import RunResult

__all__ = ["XorConfig", "PROTOCOL", "QUICK"]

#: Input: channel ``idx`` shows the trial's sign during its pulse (step arithmetic, so trial
#: boundaries never depend on rounding of t).
INPUT_EQS = """
idx : integer (constant)                         # channel 0 or 1
on_step : 1 (constant)                           # first step of this channel's pulse in a trial
nstep : 1                                        # step number
trial : 1                                        # trial number
kstep : 1                                        # step within the trial
"""
INPUT_CODE = """
nstep = floor(t/dt + 0.5)
trial = floor(nstep/steps_per_trial)
kstep = nstep - trial*steps_per_trial
r_s = signs((trial + 0.5)*trial_len, idx)*int(kstep >= on_step)*int(kstep < on_step + pulse_steps)
"""
#: Target and mask: the XOR of the trial's signs, given only in the response window while
#: learning.
TARGET_CODE = """
y_tgt = xor_target((floor(floor(t/dt + 0.5)/steps_per_trial) + 0.5)*trial_len)
mask = int(floor(t/dt + 0.5) - steps_per_trial*floor(floor(t/dt + 0.5)/steps_per_trial) >= window_step)*int(t < learn_end)
"""


def _xor_model():
    return RateModel(operator="vle", optimizer="adam", gamma=0.0, beta=1.0, eta=0.02 * Hz,
                     tau_adam1=0.5 * second, tau_adam2=50 * second)


@dataclasses.dataclass(frozen=True, eq=False)
class XorConfig:
    """Configuration of the temporal-XOR protocol (defaults: the full configuration)."""

    model: RateModel = dataclasses.field(default_factory=_xor_model)
    method: str = param("vle", "headline method (also run)", kind="str")
    methods: list = param(["vle", "gle", "vle/random", "instantaneous"],
                          "methods run side by side", kind="list")
    replicas: int = param(1, "independent networks per method (different initial weights)",
                          check=Range(1, 100))
    dt: object = param(0.05 * second, "time step", unit=second, check=POSITIVE)
    n_train: int = param(4000, "training trials", check=Range(1, 10 ** 6))
    n_test: int = param(200, "held-out test trials (plasticity off)", check=Range(1, 10 ** 5))
    pulse: object = param(1.0 * second, "pulse length", unit=second, check=POSITIVE)
    delay: object = param(2.0 * second, "delay D between the pulses", unit=second,
                          check=POSITIVE)
    window: object = param(2.0 * second, "response window after the second pulse",
                           unit=second, check=POSITIVE)
    n_hidden: int = param(16, "hidden units (half retrospective, half instantaneous)",
                          check=Range(2, 10000))
    tau_m_lo: object = param(0.5 * second, "smallest hidden tau_m", unit=second, check=POSITIVE)
    tau_m_hi: object = param(4.0 * second, "largest hidden tau_m", unit=second, check=POSITIVE)
    tau_r_retro: object = param(0.1 * second, "tau_r of the retrospective hidden units",
                                unit=second, check=POSITIVE)
    w_scale: float = param(1.0, "initial weights U(+-w_scale/sqrt(fan_in)) (pinned: 1)",
                           check=POSITIVE)
    block: int = param(200, "trials per point of the online accuracy curve",
                       check=Range(1, 10 ** 6))
    example_trials: int = param(16, "trials per phase kept in the example-trace table",
                                check=Range(0, 1000))

    def check(self):
        """Methods known, dt divides the trial's parts and is below every time constant."""
        rc.check_methods(self.methods)
        rc.parse_method(self.method, "method")
        if self.n_hidden % 2:
            raise ConfigError("n_hidden", f"must be even (half retrospective, half "
                              f"instantaneous), got {self.n_hidden}")
        if float(self.tau_m_lo / second) > float(self.tau_m_hi / second):
            raise ConfigError("tau_m_lo", "must not exceed tau_m_hi")
        if float(self.tau_r_retro / second) > float(self.tau_m_lo / second):
            raise ConfigError("tau_r_retro", f"must not exceed tau_m_lo = {self.tau_m_lo} "
                              f"(retrospective units: tau_r <= tau_m), got {self.tau_r_retro}")
        for name in ("pulse", "delay", "window"):
            rc.check_multiple(self, name, self.dt, "dt")
        rc.check_dt(self.dt, {"tau_r_retro": float(self.tau_r_retro / second),
                              "tau_m_lo": float(self.tau_m_lo / second),
                              "tau_adam1": float(self.model.tau_adam1 / second)})


#: --quick: 2000 training trials.
QUICK = dict(n_train="2000")


@dataclasses.dataclass
class XorPlan:
    """Trial signs, initial weights, method groups, schedule (seconds as floats)."""

    signs: np.ndarray
    groups: list
    dt: float
    steps_per_trial: int
    trial_len: float
    pulse_steps: int
    window_step: int
    on_steps: np.ndarray
    learn_end: float
    end: float
    methods: list
    n_train: int


def prepare(cfg, seed):
    """Trial signs and initial weights from ``seed`` (pure NumPy)."""
    rng = np.random.default_rng(seed)
    dt = float(cfg.dt / second)
    P, D, Wd = (float(getattr(cfg, k) / second) for k in ("pulse", "delay", "window"))
    steps = lambda x: int(round(x / dt))  # noqa: E731
    n_tr = cfg.n_train + cfg.n_test
    signs = rng.choice([-1.0, 1.0], (n_tr, 2))
    sizes = [2, cfg.n_hidden, 1]
    h = cfg.n_hidden // 2
    taus = np.geomspace(float(cfg.tau_m_lo / second), float(cfg.tau_m_hi / second), h)
    tau_m = [None, np.concatenate([taus, taus]), np.array([1.0])]
    tau_r = [None, np.concatenate([np.full(h, float(cfg.tau_r_retro / second)), taus]),
             np.array([1.0])]
    eta = float(cfg.model.eta / Hz)
    inits = []
    for _ in range(cfg.replicas):
        W, b = rate.initial_weights(sizes, rng, cfg.w_scale)
        Brand = rng.uniform(-1, 1, (cfg.n_hidden, 1)) / np.sqrt(cfg.n_hidden)
        inits.append((W, b, Brand))
    methods = list(cfg.methods) + ([cfg.method] if cfg.method not in cfg.methods else [])

    # replicas are filled in below (one per method and initial draw)
    groups = rc.group_methods(cfg.model, methods, lambda label, op, fb: None, prefix="xor")
    for gp in groups:
        reps, labels = [], []
        for label in gp.labels:
            _, fb = rc.parse_method(label)
            for k, (W, b, Brand) in enumerate(inits):
                fbf = rc.feedback_fields(fb, W[2].T, Brand, cfg.model.kappa / Hz)
                reps.append(Replica(name=f"{label}#{k}", W=[w if w is None else w.copy()
                                                            for w in W],
                                    b=[v if v is None else v.copy() for v in b], tau_m=tau_m,
                                    tau_r=tau_r, eta=[None, eta, eta], eta_b=[None, eta, eta],
                                    eta_tau=[None, 0.0, 0.0], B=[None, None, fbf["B"]],
                                    kappa=fbf["kappa"], fb_plastic=fbf["fb_plastic"],
                                    fb_local=fbf["fb_local"],
                                    selector=gp.operators.index(rc.parse_method(label)[0])))
                labels.append(label)
        gp.replicas, gp.labels = reps, labels
    spt = steps(P + D + P + Wd)
    return XorPlan(signs=signs, groups=groups, dt=dt, steps_per_trial=spt, trial_len=spt * dt,
                   pulse_steps=steps(P), window_step=steps(P + D + P),
                   on_steps=np.array([0, steps(P + D)]), learn_end=cfg.n_train * spt * dt,
                   end=n_tr * spt * dt, methods=methods, n_train=cfg.n_train)


def memory(cfg):
    """Counts for the memory check: the input trace (2 values per step) and per network
    (methods x replicas) its output, target and mask (3 per step)."""
    n = (len(cfg.methods) + 1) * cfg.replicas
    trial = 2 * cfg.pulse + cfg.delay + cfg.window
    h = cfg.n_hidden
    return rc.memory_need((cfg.n_train + cfg.n_test) * trial, cfg.dt, 2 + 3 * n,
                          synapses=n * 4 * h, neurons=n * (h + 1), knobs="n_train/dt/replicas")


def build(cfg, plan):
    """Input, method groups and output monitors (inside a session)."""
    from brian2 import StateMonitor, TimedArray

    dt = plan.dt * second
    ns = dict(signs=TimedArray(plan.signs, dt=plan.trial_len * second),
              xor_target=TimedArray(-plan.signs[:, 0] * plan.signs[:, 1],
                                    dt=plan.trial_len * second),
              steps_per_trial=float(plan.steps_per_trial), trial_len=plan.trial_len * second,
              pulse_steps=float(plan.pulse_steps), window_step=float(plan.window_step))
    inp = rate.build_input(2, INPUT_EQS, INPUT_CODE, dt, ns, values=dict(
        idx=np.array([0, 1]), on_step=plan.on_steps.astype(float)), name="xor_input")
    groups = rc.build_groups(plan.groups, [2, cfg.n_hidden, 1], ["tanh", "linear"], inp, dt,
                             0 * second, plan.learn_end * second, target_code=TARGET_CODE,
                             namespace=ns)
    objects = [inp]
    monitors = dict(input=StateMonitor(inp, "r_s", record=True, when="end"))
    for name, g in groups.items():
        objects += g.objects
        monitors[f"{name}/out"] = StateMonitor(g.layers[-1], ["r_s", "y_tgt", "mask"],
                                               record=True, when="end")
    objects += list(monitors.values())
    return rc.Built(objects=objects, duration=plan.end * second, groups=groups, monitors=monitors)


def collect(cfg, plan, built):
    """Outputs, targets and masks (per group) and the input trace."""
    raw = dict(x=np.asarray(built.monitors["input"].r_s_).T.copy(), groups={})
    for gp in plan.groups:
        m = built.monitors[f"{gp.name}/out"]
        raw["groups"][gp.name] = dict(r=np.asarray(m.r_s_).T.copy(),
                                      y=np.asarray(m.y_tgt_).T.copy(),
                                      mask=np.asarray(m.mask_).T.copy())
    return raw


def trial_scores(out, plan, first, count):
    """Mean output in the response window of trials first..first+count-1 (array)."""
    spt = plan.steps_per_trial
    seg = out[first * spt:(first + count) * spt].reshape(count, spt)
    return seg[:, plan.window_step:].mean(axis=1)


def analyse(cfg, plan, raw):
    """Held-out accuracy, online accuracy curve and example trials (pure NumPy)."""
    target = -plan.signs[:, 0] * plan.signs[:, 1]
    n_tr, n_te = plan.n_train, cfg.n_test
    test_t = target[n_tr:n_tr + n_te]
    metrics = dict(chance_level=float(max(np.mean(test_t > 0), np.mean(test_t < 0))))
    rows, curves, examples = [], [], []
    spt = plan.steps_per_trial
    t_axis = np.arange(spt) * plan.dt
    for gp in plan.groups:
        d = raw["groups"][gp.name]
        for k, label in enumerate(gp.labels):
            rep = k % cfg.replicas
            out = d["r"][:, k]
            test_scores = trial_scores(out, plan, n_tr, n_te)
            acc = float(np.mean(np.sign(test_scores) == test_t))
            train_scores = trial_scores(out, plan, 0, n_tr)
            correct = np.sign(train_scores) == target[:n_tr]
            nb = n_tr // cfg.block
            for j in range(nb):
                curves.append(dict(method=label, replica=rep, trials=(j + 1) * cfg.block,
                                   time=(j + 1) * cfg.block * plan.trial_len,
                                   accuracy=float(np.mean(correct[j * cfg.block:(j + 1)
                                                                  * cfg.block]))))
            sq = (out - d["y"][:, k]) ** 2 * d["mask"][:, k]
            last = slice((n_tr - cfg.block) * spt, n_tr * spt)  # the last block of training
            rows.append(dict(method=label, replica=rep, accuracy=acc,
                             online_accuracy_end=float(np.mean(correct[-cfg.block:])),
                             window_mse_end=float(np.sum(sq[last])
                                                  / max(1.0, np.sum(d["mask"][last, k])))))
            if rep == 0 and cfg.example_trials:
                for phase, first in (("start", 0), ("test", n_tr)):
                    for j in range(first, min(first + cfg.example_trials, len(target))):
                        sl = slice(j * spt, (j + 1) * spt)
                        examples.append(pd.DataFrame(dict(
                            method=label, phase=phase, trial=j, t=t_axis,
                            x1=raw["x"][sl, 0], x2=raw["x"][sl, 1], output=out[sl],
                            target=np.where(t_axis >= plan.window_step * plan.dt, target[j],
                                            np.nan))))
    summary = pd.DataFrame(rows)
    for label in plan.methods:
        sub = summary[summary.method == label]
        metrics[f"accuracy_{label}"] = float(sub.accuracy.mean())
        if cfg.replicas > 1:
            metrics[f"accuracy_min_{label}"] = float(sub.accuracy.min())
        metrics[f"online_accuracy_end_{label}"] = float(sub.online_accuracy_end.mean())
    metrics["accuracy"] = metrics[f"accuracy_{cfg.method}"]
    metrics["method"] = cfg.method
    tables = dict(summary=summary, curve=pd.DataFrame(curves),
                  examples=pd.concat(examples, ignore_index=True) if examples
                  else pd.DataFrame())
    return RunResult(protocol="xor", config={}, metrics=metrics, tables=tables,
                     arrays=dict(signs=plan.signs))


PROTOCOL = Protocol(
    name="xor", config_class=XorConfig, prepare=prepare, build=build, collect=collect,
    analyse=analyse, quick=QUICK,
    doc="Temporal XOR: VLE, GLE, feedback alignment and instantaneous backprop side by side",
    object_fields=rc.object_fields(2), memory=memory)
