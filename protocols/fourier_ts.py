"""Protocol ``fourier_ts``: a teacher-student complex signal with retrospective neurons, and
each method's local gradient aligned against the exact adjoint (docs/latent-equilibrium.md §3b,
§6, §7; GLE "LagNet" style; ours, no reference numbers exist).

Input: a sum of sines at 0.49, 1.07, 1.98 rad per time unit. Network 1 -> 2 -> 2 -> 1 (the
teacher's weight shapes): each hidden layer has one instantaneous (tau_r = tau_m = 1) and one
retrospective (tau_r = 0.1, tau_m = 1) unit (``hidden_phi``, default tanh); ``output_phi``
(default linear) instantaneous output. A fixed teacher of the same architecture provides the
target; all layers of the students learn (Adam with a 1/(1 + t/lr_decay) decay). The methods
(default: GLE and VLE, each with transpose, random and learned (Kolen-Pollack) feedback, and
instantaneous backprop) run side by side. Every ``probe_period`` the weights are frozen for
``probe_len`` (a probe window); on each probe window the exact adjoint gradient of the window
loss is computed offline from the recorded trajectory (`locallearn.analysis.adjoint`) and
compared with each method's local gradient estimate integrated by its synapses over the same
window (cosine similarity).

This was part (b) of the protocol ``fourier`` until issue 11; it is a protocol of its own because
its time step is 2000 times that of the LE Fourier synthesis (see `locallearn.protocols.fourier`).
With the same seed it draws the same initial weights as before (`prepare`).

Headline metrics: ``gradient_cosine_<method>`` (mean over probe windows),
``ts_final_loss_<method>`` (mean loss over the last ``loss_window`` of training),
``angle_end_<method>`` (angle between B and W^T at the end, degrees), ``ts_probe_loss_<method>``
(mean loss over the last probe window: weights frozen, PAL's noise off).
"""

import dataclasses

import numpy as np
import pandas as pd
from brian2 import second, Hz

from locallearn.analysis import adjoint as adj
from locallearn.errors import ConfigError
from locallearn.models import rate
from locallearn.models.rate import RateModel, Replica
from locallearn.params import param, Choice, POSITIVE, NONNEGATIVE
from locallearn.protocol_record import Protocol
from locallearn.protocols import rate_common as rc
from locallearn.results import RunResult

__all__ = ["FourierTSConfig", "PROTOCOL", "QUICK"]

TS_INPUT_CODE = ("r_s = (sin(omega1*t) + sin(omega2*t + phi2) + sin(omega3*t + phi3))"
                 "/input_norm")
TS_TARGET_CODE = "mask = 1.0"
#: Probe windows: the learning rate is 0 during the last probe_len of every probe_period.
PROBE_SCHEDULE = """
hold = int((t - learn_start) - probe_period*floor((t - learn_start)/probe_period) >= probe_period - probe_len)
plastic = int(t >= learn_start)*int(t < learn_end)
lr_scale = plastic*(1 - hold)/(1 + decay_rate*plastic*(t - learn_start))
kp_on = plastic*(1 - hold)*int(t < kp_end)
c1 = 1 - exp(clip(floor((t - learn_start)/dt + 0.5), 1, 1e12)*log(1 - dt/tau_adam1))
c2 = 1 - exp(clip(floor((t - learn_start)/dt + 0.5), 1, 1e12)*log(1 - dt/tau_adam2))
"""
PROBE_EQS = """
hold : 1                                        # 1 inside a probe window (weights frozen)
probe_period : second (constant)                # a probe window ends every probe_period
probe_len : second (constant)                   # length of a probe window
"""


def _ts_model():
    return RateModel(operator="gle", optimizer="adam", gamma=0.0, beta=1.0, eta=0.03 * Hz,
                     tau_adam1=0.1 * second, tau_adam2=10 * second, lr_decay=200 * second,
                     kappa=0.01 * Hz, kp_end=500 * second,
                     layer_eqs=rate.LAYER_EQS + PROBE_EQS, schedule_code=PROBE_SCHEDULE)


@dataclasses.dataclass(frozen=True, eq=False)
class FourierTSConfig:
    """Configuration of the teacher-student complex signal (defaults: the full configuration)."""

    model: RateModel = dataclasses.field(default_factory=_ts_model)
    methods: list = param(["gle", "gle/random", "gle/learned", "vle", "vle/random",
                           "vle/learned", "instantaneous"], "methods of, side by side",
                          kind="list")
    dt: object = param(0.01 * second, "time step of", unit=second, check=POSITIVE)
    t_init: object = param(20 * second, "phase before learning", unit=second,
                           check=NONNEGATIVE)
    t_train: object = param(2000 * second, "learning phase", unit=second, check=POSITIVE)
    omegas: object = param(np.array([0.49, 1.07, 1.98]), "input angular frequencies (rad/s)",
                           shape=(3,))
    teacher_W1: object = param(np.array([[1.5], [-1.0]]), "teacher input weights (2 x 1)",
                               shape=(2, 1))
    teacher_W2: object = param(np.array([[1.0, 0.5], [-0.5, 1.5]]), "teacher hidden weights",
                               shape=(2, 2))
    teacher_W3: object = param(np.array([[1.0, 1.0]]), "teacher output weights (1 x 2)",
                               shape=(1, 2))
    hidden_phi: str = param("tanh", "transfer function of the hidden layers",
                            check=Choice(*rate.PHI))
    output_phi: str = param("linear", "transfer function of the output unit",
                            check=Choice(*rate.PHI))
    tau_m_hidden: object = param(1.0 * second, "tau_m of the hidden neurons", unit=second,
                                 check=POSITIVE)
    tau_r_retro: object = param(0.1 * second, "tau_r of the retrospective hidden neurons",
                                unit=second, check=POSITIVE)
    probe_period: object = param(50 * second, "a probe window ends every probe_period",
                                 unit=second, check=POSITIVE)
    probe_len: object = param(10 * second, "length of a probe window (weights frozen)",
                              unit=second, check=POSITIVE)
    loss_window: object = param(100 * second, "ts_final_loss averages over this end of "
                                "training", unit=second, check=POSITIVE)
    loss_bin: object = param(5 * second, "bin of the loss curve table", unit=second,
                             check=POSITIVE)

    def check(self):
        """Methods known; dt below every time constant; probes fit the schedule."""
        rc.check_methods(self.methods)
        rc.check_dt(self.dt, {"tau_r_retro": float(self.tau_r_retro / second),
                              "tau_m_hidden": float(self.tau_m_hidden / second),
                              "tau_adam1": float(self.model.tau_adam1 / second)})
        if float(self.tau_r_retro / second) > float(self.tau_m_hidden / second):
            raise ConfigError("tau_r_retro", f"must not exceed tau_m_hidden = "
                              f"{self.tau_m_hidden} (retrospective units: tau_r <= tau_m), got "
                              f"{self.tau_r_retro}")
        if float(self.probe_len / second) >= float(self.probe_period / second):
            raise ConfigError("probe_len", "must be shorter than probe_period")
        rc.check_multiple(self, "probe_len", self.dt, "dt")
        for name in ("probe_period", "t_train"):
            rc.check_multiple(self, name, self.probe_len, "probe_len")
        rc.check_multiple(self, "t_init", self.probe_len, "probe_len", allow_zero=True)
        rc.check_multiple(self, "loss_bin", self.dt, "dt")
        if float(self.loss_window / second) > float(self.t_train / second):
            raise ConfigError("loss_window", "must not exceed t_train")



#: --quick: 1000 time units, without instantaneous backprop (one compiled group fewer).
QUICK = dict(t_train="1000*second", loss_window="50*second",
             methods="gle,gle/random,gle/learned,vle,vle/random,vle/learned")

#: Random numbers the former part (a) of ``fourier`` drew from the seed before these students'
#: (its default 50 -> 30 -> 1 weights and biases): skipped, so a seed gives the same students.
LEGACY_SKIP = 50 * 30 + 30 + 30 + 1


@dataclasses.dataclass
class FourierTSPlan:
    """The students' method groups, the teacher and the schedule (seconds as floats)."""

    groups: list
    teacher: object
    dt: float
    learn_start: float
    learn_end: float
    methods: list


SIZES = [1, 2, 2, 1]


def taus(cfg):
    """tau_m and tau_r (seconds, per layer 1..3): per hidden layer one instantaneous and one
    retrospective unit; an instantaneous output with tau_m = 1 s."""
    tm = float(cfg.tau_m_hidden / second)
    tr = float(cfg.tau_r_retro / second)
    return ([None, np.array([tm, tm]), np.array([tm, tm]), np.array([1.0])],
            [None, np.array([tm, tr]), np.array([tm, tr]), np.array([1.0])])


def prepare(cfg, seed):
    """Initial weights of the students (one draw of W shared by every method, B per feedback
    kind) from ``seed`` (pure NumPy)."""
    rng = np.random.default_rng(seed)
    rng.random(LEGACY_SKIP)
    tsizes = SIZES
    W0, _ = rate.initial_weights(tsizes, rng)
    Brand = [None, None] + [rng.uniform(-1, 1, (tsizes[l - 1], tsizes[l])) / np.sqrt(tsizes[l - 1])
                            for l in (2, 3)]
    tau_m, tau_r = taus(cfg)
    eta_ts = float(cfg.model.eta / Hz)

    def make(label, op, fb):
        fbf = [rc.feedback_fields(fb, W0[l].T, Brand[l], cfg.model.kappa / Hz) for l in (2, 3)]
        return Replica(name=label, W=[w if w is None else w.copy() for w in W0],
                       b=[None] + [np.zeros(n) for n in tsizes[1:]], tau_m=tau_m, tau_r=tau_r,
                       eta=[None, eta_ts, eta_ts, eta_ts], eta_tau=[None, 0.0, 0.0, 0.0],
                       B=[None, None] + [f["B"] for f in fbf], kappa=fbf[0]["kappa"],
                       fb_plastic=fbf[0]["fb_plastic"], fb_local=fbf[0]["fb_local"])

    groups = rc.group_methods(cfg.model, cfg.methods, make, prefix="ts")
    Wt = [None, np.asarray(cfg.teacher_W1, float), np.asarray(cfg.teacher_W2, float),
          np.asarray(cfg.teacher_W3, float)]
    teacher = rc.GroupPlan(name="ts_teacher", model=cfg.model.resolved(), plastic=False,
                           labels=["teacher"],
                           replicas=[Replica(name="teacher", W=Wt, b=[None] + [np.zeros(n) for n
                                                                               in tsizes[1:]],
                                             tau_m=tau_m, tau_r=tau_r, eta=[None, 0, 0, 0],
                                             eta_tau=[None, 0, 0, 0])])
    ls = float(cfg.t_init / second)
    return FourierTSPlan(groups=groups, teacher=teacher, dt=float(cfg.dt / second),
                         learn_start=ls, learn_end=ls + float(cfg.t_train / second),
                         methods=list(cfg.methods))


def memory(cfg):
    """Counts for the memory check: per method the rates and phi' of every layer and the target
    (full resolution), weights, accumulators and feedback weights every ``probe_len``."""
    n = len(cfg.methods)
    units = sum(SIZES[1:])
    syn = sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:]))
    end = cfg.t_init + cfg.t_train
    return rc.memory_need(end, cfg.dt, 1 + n * (2 * units + 1), synapses=(n + 1) * 2 * syn,
                          neurons=(n + 1) * units, snapshots=float(end / cfg.probe_len),
                          per_snapshot=n * 3 * syn, knobs="t_train/dt")


def build(cfg, plan):
    """Input, teacher, the method groups and full-resolution monitors."""
    from brian2 import StateMonitor

    dt = plan.dt * second
    om = np.asarray(cfg.omegas, float)
    ns = dict(omega1=om[0] * Hz, omega2=om[1] * Hz, omega3=om[2] * Hz, phi2=1.0, phi3=2.0,
              input_norm=1.5)
    inp = rate.build_input(1, "", TS_INPUT_CODE, dt, ns, name="ts_input")
    sizes, phis = SIZES, [cfg.hidden_phi, cfg.hidden_phi, cfg.output_phi]
    ls, le = plan.learn_start * second, plan.learn_end * second
    teacher = rc.build_groups([plan.teacher], sizes, phis, inp, dt, ls, le)["ts_teacher"]
    groups = rc.build_groups(plan.groups, sizes, phis, inp, dt, ls, le,
                             target_code=TS_TARGET_CODE, teacher=teacher, accumulate=True)
    for g in [teacher] + list(groups.values()):
        for layer in g.layers:
            layer.probe_period = cfg.probe_period
            layer.probe_len = cfg.probe_len
    objects = [inp] + teacher.objects
    monitors = dict(input=StateMonitor(inp, "r_s", record=True, when="end"))
    snap = cfg.probe_len
    for name, g in groups.items():
        objects += g.objects
        for l, layer in enumerate(g.layers, start=1):
            monitors[f"{name}/r{l}"] = StateMonitor(layer, ["r_s", "phip_s"], record=True,
                                                    when="end")
            monitors[f"{name}/W{l}"] = StateMonitor(g.forward[l - 1], ["w", "gacc"],
                                                    record=True, dt=snap, when="end")
            if g.backward[l - 1] is not None:
                monitors[f"{name}/B{l}"] = StateMonitor(g.backward[l - 1], "bw", record=True,
                                                        dt=snap, when="end")
        monitors[f"{name}/y"] = StateMonitor(g.layers[-1], "y_tgt", record=True, when="end")
    objects += list(monitors.values())
    groups["ts_teacher"] = teacher
    return rc.Built(objects=objects, duration=plan.learn_end * second, groups=groups,
                 monitors=monitors)


def collect(cfg, plan, built):
    """Trajectories, weight/accumulator snapshots, per group."""
    mon = built.monitors
    raw = dict(x=np.asarray(mon["input"].r_s_).T.copy(), groups={})
    for gp in plan.groups:
        d = dict(r={}, phip={}, W={}, G={}, B={},
                 y=np.asarray(mon[f"{gp.name}/y"].y_tgt_).T.copy())
        for l in range(1, 4):
            m = mon[f"{gp.name}/r{l}"]
            d["r"][f"l{l}"] = np.asarray(m.r_s_).T.copy()
            d["phip"][f"l{l}"] = np.asarray(m.phip_s_).T.copy()
            mw = mon[f"{gp.name}/W{l}"]
            d["W"][f"l{l}"] = np.asarray(mw.w_).copy()
            d["G"][f"l{l}"] = np.asarray(mw.gacc_).copy()
            mb = mon.get(f"{gp.name}/B{l}")
            if mb is not None:
                d["B"][f"l{l}"] = np.asarray(mb.bw_).copy()
        d["t_snap"] = np.asarray(mon[f"{gp.name}/W1"].t_).copy()
        raw["groups"][gp.name] = d
    return raw


def _probe_windows(cfg, plan, t_snap):
    """(snapshot index at the start, at the end, step range) of every complete probe window."""
    P = float(cfg.probe_period / second)
    Lp = float(cfg.probe_len / second)
    dt = plan.dt
    out = []
    k = 0
    while True:
        ta = plan.learn_start + k * P + (P - Lp)
        tb = plan.learn_start + (k + 1) * P
        if tb > plan.learn_end + 1e-9:
            break
        ia = int(np.argmin(np.abs(t_snap - ta)))
        ib = int(np.argmin(np.abs(t_snap - tb)))
        if abs(t_snap[ia] - ta) < dt / 2 and abs(t_snap[ib] - tb) < dt / 2:
            out.append((ia, ib, int(round(ta / dt)) + 1, int(round(tb / dt)) + 1, ta, tb))
        k += 1
    return out


def _analyse_ts(cfg, plan, raw):
    dt = plan.dt
    x = raw["x"]
    sizes = SIZES
    tau_m, tau_r = taus(cfg)
    n_ls, n_le = rc.record_steps(plan.learn_start, plan.learn_end, dt)
    n_win = int(round(float(cfg.loss_window / second) / dt))
    bin_steps = int(round(float(cfg.loss_bin / second) / dt))
    metrics, loss_frames, align_rows, angle_rows = {}, [], [], []
    for gp in plan.groups:
        d = raw["groups"][gp.name]
        R = len(gp.labels)
        windows = _probe_windows(cfg, plan, d["t_snap"])
        y = d["y"]
        for k, label in enumerate(gp.labels):
            out = d["r"]["l3"][:, k]
            sq = (out - y[:, k]) ** 2
            lb = rc.binned(sq, bin_steps)
            loss_frames.append(pd.DataFrame(dict(time=(np.arange(len(lb)) + 0.5) * bin_steps * dt,
                                                 method=label, loss=lb)))
            metrics[f"ts_final_loss_{label}"] = float(np.mean(sq[n_le - n_win:n_le]))
            metrics[f"ts_initial_loss_{label}"] = float(np.mean(sq[n_ls:n_ls + n_win]))
            # per-replica views
            r = [x] + [d["r"][f"l{l}"][:, k * sizes[l]:(k + 1) * sizes[l]] for l in (1, 2, 3)]
            ph = [None] + [d["phip"][f"l{l}"][:, k * sizes[l]:(k + 1) * sizes[l]]
                           for l in (1, 2, 3)]
            # weight snapshots (n_l, n_{l-1}, time); the shared input layer's synapses have the
            # same (block, pre, post) order, so split_blocks applies to every layer
            Wsnap = [None] + [rate.split_blocks(d["W"][f"l{l}"], sizes[l - 1], sizes[l], R)[k]
                              for l in (1, 2, 3)]
            Gsnap = [None] + [rate.split_blocks(d["G"][f"l{l}"], sizes[l - 1], sizes[l], R)[k]
                              for l in (1, 2, 3)]
            if windows:  # the last probe window: frozen weights, no PAL noise
                na, nb = windows[-1][2:4]
                metrics[f"ts_probe_loss_{label}"] = float(np.mean(sq[na:nb]))
            for (ia, ib, na, nb, ta, tb) in windows:
                W = [None] + [Wsnap[l][:, :, ia] for l in (1, 2, 3)]
                rw = [ri[na:nb] for ri in r]
                pw = [None] + [p[na:nb] for p in ph[1:]]
                _, dLdr = adj.mse_loss(rw[3], y[na:nb, k], dt)
                g = adj.adjoint_gradients(rw, pw, W, tau_m, tau_r, dt, dLdr,
                                          r_prev=[ri[na - 1] for ri in r])
                local = [None] + [Gsnap[l][:, :, ib] - Gsnap[l][:, :, ia] for l in (1, 2, 3)]
                total, per = adj.window_alignment(local, g["W"])
                align_rows.append(dict(method=label, time=tb, cosine=total,
                                       cosine_l1=per[1], cosine_l2=per[2], cosine_l3=per[3],
                                       norm_ratio=float(np.linalg.norm(adj.flatten(local[1:]))
                                                        / np.linalg.norm(adj.flatten(g["W"][1:])))))
            for l in (2, 3):
                Bs = d["B"][f"l{l}"]
                Bk = rate.split_blocks(Bs, sizes[l - 1], sizes[l], R)[k]  # (n_l, n_{l-1}, t)
                ang = rate.angle_deg(np.moveaxis(np.swapaxes(Bk, 0, 1), -1, 0),
                                     np.moveaxis(Wsnap[l], -1, 0))
                angle_rows.append(pd.DataFrame(dict(method=label, layer=l, time=d["t_snap"],
                                                    angle=ang)))
    align = pd.DataFrame(align_rows)
    angles = pd.concat(angle_rows, ignore_index=True)
    for label in plan.methods:
        a = align[align.method == label]
        metrics[f"gradient_cosine_{label}"] = float(a.cosine.mean()) if len(a) else float("nan")
        metrics[f"gradient_cosine_l1_{label}"] = float(a.cosine_l1.mean()) if len(a) \
            else float("nan")
        an = angles[angles.method == label]
        last = an[an.time == an.time.max()]
        metrics[f"angle_end_{label}"] = float(last.angle.max())
    return metrics, dict(ts_loss=pd.concat(loss_frames, ignore_index=True), alignment=align,
                         angles=angles)


def analyse(cfg, plan, raw):
    """Loss curves, adjoint alignment and B-W^T angles (pure NumPy/pandas)."""
    metrics, tables = _analyse_ts(cfg, plan, raw)
    arrays = dict(teacher_W1=np.asarray(cfg.teacher_W1, float),
                  teacher_W2=np.asarray(cfg.teacher_W2, float),
                  teacher_W3=np.asarray(cfg.teacher_W3, float))
    return RunResult(protocol="fourier_ts", config={}, metrics=metrics, tables=tables,
                     arrays=arrays)


PROTOCOL = Protocol(
    name="fourier_ts", config_class=FourierTSConfig, prepare=prepare, build=build,
    collect=collect, analyse=analyse, quick=QUICK,
    doc="Teacher-student complex signal: transpose/random/learned feedback vs the exact adjoint",
    object_fields=rc.object_fields(3), memory=memory)
