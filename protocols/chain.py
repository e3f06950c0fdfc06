"""Protocol ``chain``: a chain of two retrospective neurons learns to mimic a teacher (GLE Fig. 5;
docs/latent-equilibrium.md §3a, §7).

Network 1 -> 1 -> 1, softplus, no bias, tau_r = 0.1 time units (1 time unit = 1 s). Teacher
w = (1, 2), tau_m = (1, 2). Students start from w ~ U(0, 1), tau_m ~ U(0, 1) (clamped at 0.1);
weights *and* both tau_m are learned; gamma = 1, beta = 0.01. Input: a +-1 square wave (2 on,
2 off) with a random phase, smoothed at the edges. The methods (default GLE, VLE (ours) and
instantaneous backprop) learn side by side from the same input and the same initial values; the
teacher runs in the same network and its output is every student's target.

Differences from the reference protocol (§3a), measured and documented in the README:
* one input stream instead of a batch of 100 phase-shifted streams (Brian2 synapses cannot share
  one weight between streams). With one stream, constant-rate Adam locks into a limit cycle that
  tracks the teacher by modulating the parameters within each input period (training loss
  ~1e-8 while w stays ~0.03 off); a 1/(1 + t/100) learning-rate decay removes it;
* Adam's rate is 0.05 per time unit (5e-4 per step of 0.01) before the decay (reference: 1e-4
  constant with the batch).

Headline metrics (``metrics.json``), for ``method`` (and ``*_<method>`` for every method):
w_error, tau_error: max |w - (1, 2)| and max |tau_m - (1, 2)| at the end of training;
final_loss: mean (r_out - y*)^2 over the last ``loss_window`` of training (§3a);
test_loss: the same with frozen parameters and no nudging over the test phase.
"""

import dataclasses

import numpy as np
import pandas as pd
from brian2 import second, Hz

from locallearn import definitions
from locallearn.errors import ConfigError
from locallearn.models.rate import RateModel, RegisteredChoice, Replica
from locallearn.params import param, Range, POSITIVE, NONNEGATIVE
from locallearn.protocol_record import Protocol
from locallearn.protocols import rate_common as rc
from locallearn.results import RunResult

__all__ = ["ChainConfig", "PROTOCOL", "QUICK"]

#: Input code: smoothed square wave (period ``period``, first half +1), random phase.
INPUT_EQS = """
theta : second                                   # time since the last rising edge
phase : second (constant)                        # random phase of the square wave
"""
INPUT_CODE = """
theta = (t - phase) - period*floor((t - phase)/period)
r_s = tanh(theta/edge) - tanh((theta - period/2)/edge) + tanh((theta - period)/edge)
"""


def _chain_model():
    return RateModel(operator="gle", optimizer="adam", gamma=1.0, beta=0.01, eta=0.05 * Hz,
                     eta_tau=0.05, tau_adam1=0.1 * second, tau_adam2=10 * second,
                     lr_decay=100 * second, tau_min=0.1 * second)


@dataclasses.dataclass(frozen=True, eq=False)
class ChainConfig:
    """Configuration of the chain protocol (defaults: the full configuration)."""

    model: RateModel = dataclasses.field(default_factory=_chain_model)
    method: str = param("gle", "headline method: a registered error operator (also run)",
                        check=RegisteredChoice("error_operator"))
    methods: list = param(["gle", "vle", "instantaneous"], "methods run side by side",
                          kind="list")
    replicas: int = param(1, "independent students per method (different initial values)",
                          check=Range(1, 100))
    dt: object = param(0.01 * second, "time step", unit=second, check=POSITIVE)
    t_init: object = param(50 * second, "phase before learning", unit=second, check=NONNEGATIVE)
    t_train: object = param(4000 * second, "learning phase", unit=second, check=POSITIVE)
    t_test: object = param(100 * second, "test phase (frozen, no nudging)", unit=second,
                           check=POSITIVE)
    teacher_w: object = param(np.array([1.0, 2.0]), "teacher weights (w1, w2), dimensionless",
                              shape=(2,))
    teacher_tau_m: object = param(np.array([1.0, 2.0]), "teacher tau_m (s)", shape=(2,))
    tau_r: object = param(0.1 * second, "tau_r of both neurons", unit=second, check=POSITIVE)
    w_init_max: float = param(1.0, "student w ~ U(0, w_init_max), dimensionless",
                              check=POSITIVE)
    tau_init_max: object = param(1.0 * second, "student tau_m ~ U(0, tau_init_max), clamped",
                                 unit=second, check=POSITIVE)
    period: object = param(4.0 * second, "square-wave period (2 on, 2 off)", unit=second,
                           check=POSITIVE)
    edge: object = param(0.0627 * second, "edge width of the square wave (tanh)", unit=second,
                         check=POSITIVE)
    loss_window: object = param(100 * second, "final_loss averages over this end of training",
                                unit=second, check=POSITIVE)
    loss_bin: object = param(20 * second, "bin of the loss curve table (5 input periods)",
                             unit=second, check=POSITIVE)
    record_dt: object = param(1 * second, "interval of parameter snapshots", unit=second,
                              check=POSITIVE)

    def check(self):
        """Methods known, dt below every time constant, windows inside their phases."""
        rc.check_methods(self.methods)
        for m in self.methods:
            if "/" in m:
                raise ConfigError("methods", f"the chain has no feedback choice (one neuron per "
                                  f"layer, B = W^T): use an error operator ("
                                  f"{', '.join(definitions.names('error_operator'))}), got {m!r}")
        if np.any(np.asarray(self.teacher_tau_m, float) <= 0):
            raise ConfigError("teacher_tau_m", "must be positive")
        if float(self.tau_r / second) > float(self.model.tau_min / second):
            raise ConfigError("tau_r", f"must not exceed tau_min = {self.model.tau_min} (the "
                              f"chain's neurons are retrospective: tau_r <= tau_m), got "
                              f"{self.tau_r}")
        rc.check_dt(self.dt, {"tau_r": float(self.tau_r / second),
                              "teacher_tau_m": self.teacher_tau_m,
                              "tau_min": float(self.model.tau_min / second),
                              "tau_adam1": float(self.model.tau_adam1 / second)})
        if float(self.loss_window / second) > float(self.t_train / second):
            raise ConfigError("loss_window", "must not exceed t_train")
        for name in ("record_dt", "loss_bin"):
            ratio = float(getattr(self, name) / self.dt)
            if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-6:
                raise ConfigError(name, f"must be a multiple of dt = {self.dt}")


#: --quick: dt 0.02 instead of 0.01 (Adam time constants are set in time, not steps).
QUICK = dict(dt="0.02*second")


@dataclasses.dataclass
class ChainPlan:
    """Initial values, the method groups and the schedule (seconds as floats)."""

    groups: list
    teacher: object
    phase: float
    dt: float
    learn_start: float
    learn_end: float
    end: float
    methods: list


def prepare(cfg, seed):
    """Draw the students' initial w, tau_m and the input phase from ``seed`` (pure NumPy)."""
    rng = np.random.default_rng(seed)
    R = cfg.replicas
    w0 = rng.uniform(0, cfg.w_init_max, (R, 2))
    tmin = float(cfg.model.tau_min / second)
    tau0 = np.maximum(rng.uniform(0, float(cfg.tau_init_max / second), (R, 2)), tmin)
    phase = float(rng.uniform(0, float(cfg.period / second)))
    methods = list(cfg.methods) + ([cfg.method] if cfg.method not in cfg.methods else [])
    tr = float(cfg.tau_r / second)
    eta = float(cfg.model.eta / Hz)

    def replica(w, tau, label, eta_w, eta_t):
        return Replica(name=label, W=[None, np.array([[w[0]]]), np.array([[w[1]]])],
                       b=[None, np.zeros(1), np.zeros(1)],
                       tau_m=[None, np.array([tau[0]]), np.array([tau[1]])],
                       tau_r=[None, np.array([tr]), np.array([tr])],
                       eta=[None, eta_w, eta_w], eta_tau=[None, eta_t, eta_t],
                       B=[None, None, np.array([[w[1]]])])

    groups = []
    for gp in rc.group_methods(cfg.model, methods, lambda label, op, fb: None, prefix="chain"):
        gp.replicas = [replica(w0[k], tau0[k], f"{label}#{k}", eta, cfg.model.eta_tau)
                       for label in gp.labels for k in range(R)]
        for rep, label in zip(gp.replicas, [lb for lb in gp.labels for _ in range(R)]):
            rep.selector = gp.operators.index(rc.parse_method(label)[0])
        gp.labels = [label for label in gp.labels for _ in range(R)]
        groups.append(gp)
    teacher = rc.GroupPlan(name="chain_teacher", model=cfg.model.resolved(), plastic=False,
                           replicas=[replica(cfg.teacher_w, cfg.teacher_tau_m, "teacher", 0.0,
                                             0.0)], labels=["teacher"])
    dt = float(cfg.dt / second)
    ls = float(cfg.t_init / second)
    le = ls + float(cfg.t_train / second)
    return ChainPlan(groups=groups, teacher=teacher, phase=phase, dt=dt, learn_start=ls,
                     learn_end=le, end=le + float(cfg.t_test / second), methods=methods)


def memory(cfg):
    """Counts for the memory check: per student (methods x replicas) the output trace (2 values
    per step) and 4 parameter snapshots every ``record_dt``."""
    n = (len(cfg.methods) + 1) * cfg.replicas
    end = cfg.t_init + cfg.t_train + cfg.t_test
    return rc.memory_need(end, cfg.dt, 2 * n + 1, synapses=2 * n, neurons=2 * n,
                          snapshots=float(end / cfg.record_dt), per_snapshot=4 * n,
                          knobs="t_train/dt/replicas")


def build(cfg, plan):
    """Input, teacher and the method groups with their monitors (inside a session)."""
    from brian2 import StateMonitor

    dt = plan.dt * second
    ns = dict(period=cfg.period, edge=cfg.edge)
    inp = rc.rate.build_input(1, INPUT_EQS, INPUT_CODE, dt, ns, values=dict(
        phase=plan.phase * second), name="chain_input")
    sizes, phis = [1, 1, 1], ["softplus", "softplus"]
    ls, le = plan.learn_start * second, plan.learn_end * second
    teacher = rc.build_groups([plan.teacher], sizes, phis, inp, dt, ls, le)["chain_teacher"]
    groups = rc.build_groups(plan.groups, sizes, phis, inp, dt, ls, le,
                             target_code="mask = int(t < learn_end)", teacher=teacher)
    objects = [inp] + teacher.objects
    monitors = {}
    every = cfg.record_dt
    for name, g in groups.items():
        objects += g.objects
        monitors[f"{name}/out"] = StateMonitor(g.layers[-1], ["r_s", "y_tgt"], record=True,
                                               when="end")
        monitors[f"{name}/w1"] = StateMonitor(g.forward[0], "w", record=True, dt=every,
                                              when="end")
        monitors[f"{name}/w2"] = StateMonitor(g.forward[1], "w", record=True, dt=every,
                                              when="end")
        monitors[f"{name}/tau1"] = StateMonitor(g.layers[0], "tau_m", record=True, dt=every,
                                                when="end")
        monitors[f"{name}/tau2"] = StateMonitor(g.layers[1], "tau_m", record=True, dt=every,
                                                when="end")
    objects += list(monitors.values())
    groups["chain_teacher"] = teacher
    return rc.Built(objects=objects, duration=plan.end * second, groups=groups, monitors=monitors)


def collect(cfg, plan, built):
    """Output and target traces, parameter snapshots (plain arrays, per group)."""
    raw = dict(groups={})
    for gp in plan.groups:
        mon = built.monitors
        out = mon[f"{gp.name}/out"]
        d = dict(r=np.asarray(out.r_s_).T.copy(), y=np.asarray(out.y_tgt_).T.copy(),
                 t_params=np.asarray(mon[f"{gp.name}/w1"].t_).copy())
        for key in ("w1", "w2"):
            d[key] = np.asarray(mon[f"{gp.name}/{key}"].w_).T.copy()
        for key in ("tau1", "tau2"):
            d[key] = np.asarray(mon[f"{gp.name}/{key}"].tau_m_).T.copy()
        g = built.groups[gp.name]
        d["w_final"] = np.stack([np.asarray(g.forward[0].w_[:]), np.asarray(g.forward[1].w_[:])],
                                axis=1)
        d["tau_final"] = np.stack([np.asarray(g.layers[0].tau_m_[:]),
                                   np.asarray(g.layers[1].tau_m_[:])], axis=1)
        d["B_final"] = np.asarray(g.backward[1].bw_[:]).copy()
        raw["groups"][gp.name] = d
    return raw


def analyse(cfg, plan, raw):
    """Errors against the teacher, loss curves and parameter trajectories (pure NumPy)."""
    dt = plan.dt
    n_ls, n_le = rc.record_steps(plan.learn_start, plan.learn_end, dt)
    n_win = int(round(float(cfg.loss_window / second) / dt))
    n_test = n_le + int(round(10.0 / dt)) if plan.end - plan.learn_end > 20 else n_le
    bin_steps = int(round(float(cfg.loss_bin / second) / dt))
    wt = np.asarray(cfg.teacher_w, float)
    tt = np.asarray(cfg.teacher_tau_m, float)
    metrics, rows, loss_frames, param_frames = {}, [], [], []
    for gp in plan.groups:
        d = raw["groups"][gp.name]
        sq = (d["r"] - d["y"]) ** 2  # (T, R_group)
        for k, label in enumerate(gp.labels):
            rep = k % cfg.replicas
            w, tau = d["w_final"][k], d["tau_final"][k]
            w_err = float(np.max(np.abs(w - wt)))
            t_err = float(np.max(np.abs(tau - tt)))
            final = float(np.mean(sq[n_le - n_win:n_le, k]))
            test = float(np.mean(sq[n_test:, k]))
            rows.append(dict(method=label, replica=rep, w1=w[0], w2=w[1], tau1=tau[0],
                             tau2=tau[1], w_error=w_err, tau_error=t_err, final_loss=final,
                             test_loss=test, B_minus_W=float(abs(d["B_final"][k] - w[1]))))
            lb = rc.binned(sq[:, k], bin_steps)
            loss_frames.append(pd.DataFrame(dict(time=(np.arange(len(lb)) + 0.5) * bin_steps * dt,
                                                 method=label, replica=rep, loss=lb)))
            param_frames.append(pd.DataFrame(dict(
                time=d["t_params"], method=label, replica=rep, w1=d["w1"][:, k],
                w2=d["w2"][:, k], tau1=d["tau1"][:, k], tau2=d["tau2"][:, k])))
    summary = pd.DataFrame(rows)
    for label in plan.methods:
        sub = summary[summary.method == label]
        for key in ("w_error", "tau_error", "final_loss", "test_loss"):
            metrics[f"{key}_{label}"] = float(sub[key].max() if key.endswith("error")
                                              else sub[key].mean())
        if cfg.replicas > 1:
            metrics[f"final_loss_max_{label}"] = float(sub.final_loss.max())
    for key in ("w_error", "tau_error", "final_loss", "test_loss"):
        metrics[key] = metrics[f"{key}_{cfg.method}"]
    metrics["method"] = cfg.method
    tables = dict(summary=summary, loss=pd.concat(loss_frames, ignore_index=True),
                  params=pd.concat(param_frames, ignore_index=True))
    arrays = dict(teacher_w=wt, teacher_tau_m=tt)
    for gp in plan.groups:
        d = raw["groups"][gp.name]
        for k, label in enumerate(gp.labels):
            tag = f"{label}_{k % cfg.replicas}"
            arrays[f"w_final_{tag}"] = d["w_final"][k]
            arrays[f"tau_final_{tag}"] = d["tau_final"][k]
    return RunResult(protocol="chain", config={}, metrics=metrics, tables=tables, arrays=arrays)


PROTOCOL = Protocol(
    name="chain", config_class=ChainConfig, prepare=prepare, build=build, collect=collect,
    analyse=analyse, quick=QUICK,
    doc=("Teacher-student chain of two retrospective neurons: GLE, VLE, instantaneous BP "
         "(GLE Fig. 5)"),
    object_fields=rc.object_fields(2), memory=memory)
