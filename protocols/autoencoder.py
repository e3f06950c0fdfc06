"""Protocol ``autoencoder``: a balanced spiking autoencoder learns E/I balance (Bourdoukan &
Denève 2015, section 1 and Fig. 1; §1, §2, §4-§7).

N LIF neurons (default N = 20, J = 2) encode a smoothed-noise signal x (an Ornstein-Uhlenbeck
command c leaky-integrated with lambda, generated inside the network so it runs on every device).
The fast recurrent weights start at W0 = -0.2 U(0, 1) - 0.5 I and learn with the selected fast
rule (default: the 2015 voltage-based rule). One run holds a phase before learning, the learning
phase (``duration``), a test phase and a repeated-trial phase (see `protocols.balanced`).

Headline metrics (``metrics.json``)
-----------------------------------
weight_distance_initial / _final
    scale-invariant distance of W to -(F F^T + mu I) (§6), before and after learning.
weight_scale
    the learned scale s (§6); beta = 1/2 aims at 1, larger beta gives smaller s (§2).
decoding_nrmse
    NRMSE of x decoded by the network's own decoder D = -F^+ W in the test phase.
balance_correlation
    mean over neurons of corr(drive_ff_i, (W r)_i) in the test phase (target: near -1), from the
    network's recorded feedforward drive and filtered trains (``arrays.npz``: ``V``, ``drive_ff``,
    ``drive_rec``, ``t_drive``); ``membrane_residual_rms``/``_ok`` check V = drive_ff + W r.
rate_hz, cv_isi, fano_factor, multi_spike_fraction
    spike statistics (test phase; Fano over repeated trials of one frozen command).

Sections cited as §N are those of ``docs/balanced-spiking.md``.
"""

import dataclasses

import numpy as np
import pandas as pd
from brian2 import second, Hz

from locallearn.analysis import balance, errors, weights
from locallearn.params import param, Range
from locallearn.protocol_record import Protocol
from locallearn.results import RunResult
from locallearn.models.spiking import (SpikingModel, feedforward_weights, initial_fast_weights,
                            command_sigma)
from locallearn.protocols import balanced, balanced_memory, balanced_scaling
from locallearn.protocols.balanced import (BalancedPhases, BalancedPlan, PopulationPlan,
                                           build_balanced, collect_balanced, make_schedule,
                                           check_phases, drive_check, filtered_trains,
                                           reconstruction_check, recorded, sample_rows,
                                           spike_metrics, test_window, weight_curve)

__all__ = ["AutoencoderConfig", "PROTOCOL", "prepare", "analyse"]


@dataclasses.dataclass(frozen=True, eq=False)
class AutoencoderConfig(BalancedPhases, balanced_scaling.ScaledRates):
    """Configuration of the autoencoder protocol (defaults: the full configuration)."""

    model: SpikingModel = dataclasses.field(default_factory=SpikingModel)
    x_std: float = param(3.0, "rms std of each input channel x_d, dimensionless",
                         check=Range(0, None, lo_open=True))
    W0_diag: float = param(-0.5, "diagonal of the initial fast weights, dimensionless")
    W0_spread: float = param(0.2, "W0 = -W0_spread U(0,1) + W0_diag I, dimensionless",
                             check=Range(0, None))
    F: object = param(None, "feedforward weights N x J (default: unit vectors, §5)",
                      shape=("N", "J"))
    W_init: object = param(None, "initial fast weights N x N (default: from W0_diag, W0_spread)",
                           shape=("N", "N"))
    trace_window: object = param(1.0 * second, "length of the before/after trace windows",
                                 unit=second, check=Range(0, None, lo_open=True))

    def check(self):
        """Cross-field checks (see `protocols.balanced.check_phases`)."""
        check_phases(self, self.model.lam)


#: --quick: 15 s of learning (§4: distance < 0.05 after 7.5-8.75 s, ~0.025 after 15 s).
QUICK = dict(duration="15*second", t_test="2*second", t_before="0.5*second", fano_trials="10",
             fano_trial="0.2*second")
#: Population rate (Hz) at x_std = 3: 20 neurons at 19-20 Hz (README), for the large-learner
#: rule (`protocols.balanced_scaling`, §11).
REF_POP_RATE_HZ = 400.0


def prepare(cfg, seed):
    """Draw F and W0 from ``seed`` and compute the input scale and schedule (pure NumPy)."""
    rng = np.random.default_rng(seed)
    m, x_std, scaling = balanced_scaling.apply(cfg, cfg.model.resolved(), SpikingModel().N,
                                               REF_POP_RATE_HZ, 3.0, "autoencoder")
    F = np.asarray(cfg.F, float) if cfg.F is not None else feedforward_weights(m.N, m.J, rng)
    W0 = (np.asarray(cfg.W_init, float) if cfg.W_init is not None
          else initial_fast_weights(m.N, rng, cfg.W0_diag, cfg.W0_spread))
    lam = float(m.lam / Hz)
    A = -lam * np.eye(m.J)
    tau_c = float(cfg.tau_c / second)
    return BalancedPlan(schedule=make_schedule(cfg), F=F, A=A,
                        sigma_c=command_sigma(A, tau_c, x_std), tau_c=tau_c, scaling=scaling,
                        weights_dt=float(cfg.weights_dt / second),
                        populations=[PopulationPlan(name="net", model=m, W_fast0=W0,
                                                    record_drives=True)])


def memory(cfg):
    """Counts for the memory check (see `protocols.balanced.memory_need`): one population."""
    return balanced_memory.memory_need(cfg, [(1, False, True, True)])


def build(cfg, plan):
    """Brian2 objects of the run (see `protocols.balanced.build_balanced`)."""
    return build_balanced(cfg, plan)


def collect(cfg, plan, built):
    """Raw arrays of the run (see `protocols.balanced.collect_balanced`)."""
    return collect_balanced(cfg, plan, built)


def _window_traces(plan, pp, raw_pop, x, start, stop, W, phase, every):
    """Input and decoded output on [start, stop) sampled every ``every`` steps (tidy)."""
    r = filtered_trains(plan, pp, raw_pop, start, stop)
    D = weights.implied_decoder(W, plan.F)
    xhat = r @ D.T
    rows = sample_rows(stop - start, every)
    J = x.shape[1]
    t = (start + rows) * plan.schedule.dt
    frames = [pd.DataFrame(dict(time=t, phase=phase, channel=d, x=x[start + rows, d],
                                xhat=xhat[rows, d])) for d in range(J)]
    st, si = raw_pop["spike_steps"], raw_pop["spike_i"]
    sel = (st >= start) & (st < stop)
    raster = pd.DataFrame(dict(time=st[sel] * plan.schedule.dt, neuron=si[sel], phase=phase))
    return pd.concat(frames, ignore_index=True), raster


def analyse(cfg, plan, raw):
    """Metrics, tables and arrays of an autoencoder run (pure NumPy/pandas)."""
    pp = plan.populations[0]
    m = pp.model
    sch = plan.schedule
    raw_pop = raw["pops"][pp.name]
    W0, W = pp.W_fast0, raw_pop["W_fast_final"]
    W_opt = m.fast_definition().target_weights(plan.F, m.mu)
    metrics = dict(plan.scaling or {})
    d0, s0 = weights.scale_invariant_distance(W0, W_opt)
    d1, s1 = weights.scale_invariant_distance(W, W_opt)
    metrics.update(weight_distance_initial=d0, weight_distance_final=d1, weight_scale=s1,
                   weight_scale_initial=s0,
                   weight_rel_distance_initial=weights.relative_distance(W0, W_opt),
                   weight_rel_distance_final=weights.relative_distance(W, W_opt))
    curve = weight_curve(plan, pp, raw_pop, W_opt)
    below = curve[(curve.distance < 0.05) & (curve.time > sch.learn_start)]
    metrics["time_to_distance_0.05_s"] = float(below.time.iloc[0] - sch.learn_start) \
        if len(below) else float("nan")

    # --- test phase: decoding (filtered spike trains) ---
    x = raw["x"]
    start, stop = test_window(plan, m.N)
    r = filtered_trains(plan, pp, raw_pop, start, stop)
    D = weights.implied_decoder(W, plan.F)
    xt = x[start:stop]
    eps = errors.decoding_error(xt, r @ D.T)
    D_ls = errors.least_squares_decoder(r, xt)
    xhat_FT = r @ plan.F  # decoder D = F^T (the paper's optimal decoder)
    metrics.update(decoding_eps=eps, decoding_nrmse=float(np.sqrt(eps)),
                   decoding_nrmse_FT=errors.nrmse(xt, xhat_FT),
                   decoding_nrmse_ls=errors.nrmse(xt, r @ D_ls.T))

    # --- test phase: balance from what the network recorded (V, drive_ff, r) ---
    rec = recorded(plan, raw_pop, start, stop)
    corr, drive_rec, check = drive_check(rec, W, m.sigma_V)
    rows_rec = rec["steps"] - start
    proj = -((rec["r"] @ plan.F) @ plan.F.T)  # -F_i . x_hat with x_hat = F^T r
    srows = sample_rows(len(rows_rec), max(1, len(rows_rec) // 2000))
    slope, intercept, r2 = balance.linear_fit(proj[srows], drive_rec[srows])
    metrics.update(balance_correlation=float(np.nanmean(corr)), fig1d_slope=slope, fig1d_r2=r2,
                   membrane_var=float(np.mean(np.var(rec["V"], axis=0))), **check)
    # the E/I split needs per-step input increments, which the network does not record: they
    # are reconstructed from the command (dt F c) and the spikes (W o), and the reconstruction
    # is checked against the recorded feedforward drive (F x of the default equations)
    metrics.update(reconstruction_check(xt[rows_rec] @ plan.F.T, rec["drive_ff"]))
    decay = 1.0 - float(m.lam / Hz) * sch.dt
    o = np.zeros((stop - start, m.N))
    st, si = raw_pop["spike_steps"], raw_pop["spike_i"]
    sel = (st >= start) & (st < stop)
    np.add.at(o, (st[sel] - start, si[sel]), 1.0)
    ei_corr, ei_imb = balance.ei_balance(sch.dt * raw["c"][start:stop] @ plan.F.T, o @ W.T,
                                         decay)
    metrics.update(ei_correlation=float(np.nanmean(ei_corr)),
                   ei_imbalance=float(np.nanmean(ei_imb)))
    sm, neuron_table = spike_metrics(plan, pp, raw_pop)
    metrics.update(sm)
    neuron_table["balance_correlation"] = corr

    # --- Fig. 1C/1D tables ---
    every = max(1, int(round(1e-3 / sch.dt)))  # 1 ms resolution
    win = sch.step(float(cfg.trace_window / second))
    b_stop = min(sch.step(sch.learn_start), win) or min(win, sch.step(sch.learn_end))
    tr_b, ra_b = _window_traces(plan, pp, raw_pop, x, 0, b_stop, W0, "before", every)
    tr_a, ra_a = _window_traces(plan, pp, raw_pop, x, start, min(stop, start + win), W,
                                "after", every)
    srows = sample_rows(len(rows_rec), max(1, len(rows_rec) * m.N // 20000))
    scatter = pd.DataFrame(dict(
        time=np.repeat(rec["steps"][srows] * sch.dt, m.N),
        neuron=np.tile(np.arange(m.N), len(srows)),
        projected_output=proj[srows].ravel(), recurrent_input=drive_rec[srows].ravel()))
    tables = dict(weights=curve, neurons=neuron_table,
                  traces=pd.concat([tr_b, tr_a], ignore_index=True),
                  raster=pd.concat([ra_b, ra_a], ignore_index=True), scatter=scatter)
    arrays = dict(F=plan.F, W_initial=W0, W_final=W, W_opt=W_opt,
                  spike_steps=raw_pop["spike_steps"], spike_i=raw_pop["spike_i"],
                  V=rec["V"], drive_ff=rec["drive_ff"], drive_rec=drive_rec,
                  t_drive=rec["steps"] * sch.dt)
    if "W_fast_t" in raw_pop:
        arrays.update(W_t=raw_pop["W_fast_t"], t_weights=raw_pop["t_weights"])
    return RunResult(protocol="autoencoder", config={}, metrics=metrics, tables=tables,
                     arrays=arrays)


PROTOCOL = Protocol(
    name="autoencoder", config_class=AutoencoderConfig, prepare=prepare, build=build,
    collect=collect, analyse=analyse, quick=QUICK,
    doc="Balanced autoencoder learns E/I balance (Bourdoukan & Deneve 2015, Fig. 1)",
    rerun=balanced, runtime_keys=balanced.runtime_keys, memory=memory,
    object_fields=balanced.OBJECT_FIELDS)
