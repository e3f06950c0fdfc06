"""Analysis of one balanced population: pure NumPy/pandas on the recorded arrays (no Brian2).

Balance is measured on what the network recorded (docs/balanced-spiking.md §6): its membrane
potential V, its feedforward drive ``drive_ff`` (every input but the fast jumps, low-passed by the
membrane) and its filtered spike trains r, from which the recurrent drive W r follows with the
fast weights in effect. Metrics that still reconstruct an input from the default equations are
checked against the recorded drive and flagged when they disagree.
"""

import numpy as np
import pandas as pd
from brian2 import Hz

from locallearn.analysis import balance, spikes, weights

__all__ = ["MAX_ANALYSIS_ENTRIES", "test_window", "filtered_trains", "recorded", "drive_check",
           "reconstruction_check", "spike_metrics", "weight_curve", "sample_rows",
           "RECONSTRUCTION_TOLERANCE", "membrane_tolerance"]

#: Largest (time steps x neurons) array the test-phase analysis materialises (memory bound).
MAX_ANALYSIS_ENTRIES = 20_000_000


# ============================================================================================
def test_window(plan, N):
    """(start, stop) steps of the analysed part of the test phase (memory-bounded)."""
    sch = plan.schedule
    start, stop = sch.step(sch.learn_end), sch.step(sch.test_end)
    max_steps = max(1000, MAX_ANALYSIS_ENTRIES // max(N, 1))
    return start, min(stop, start + max_steps)


def filtered_trains(plan, pp, raw_pop, start, stop):
    """The filtered spike trains r (steps [start, stop) x N, dimensionless) of the readout:
    the recorded spikes leaky-integrated with the model's lambda (decoding, §6)."""
    decay = 1.0 - float(pp.model.lam / Hz) * plan.schedule.dt
    return spikes.filtered_spike_trains(raw_pop["spike_steps"], raw_pop["spike_i"], pp.model.N,
                                        start, stop, decay)


def recorded(plan, raw_pop, start, stop):
    """The network's own recordings (membrane ``V``, feedforward drive ``drive_ff``, filtered
    train ``r``; rows x N, dimensionless) at the recorded times in steps [start, stop), with
    ``steps`` (row -> step index). None when the population recorded no drives."""
    if "rec_V" not in raw_pop:
        return None
    steps = np.rint(raw_pop["t_rec"] / plan.schedule.dt).astype(np.int64)
    sel = (steps >= start) & (steps < stop)
    return dict(steps=steps[sel], V=raw_pop["rec_V"][sel], drive_ff=raw_pop["rec_drive_ff"][sel],
                r=raw_pop["rec_r"][sel])


def drive_check(rec, W, sigma_V):
    """Balance from the recorded drives, and how well V = drive_ff + W r holds.

    ``rec`` from `recorded`; ``W`` the fast weights W[post, pre] in effect (dimensionless);
    ``sigma_V`` the stationary std of the membrane noise (dimensionless). Returns (per-neuron
    correlation of drive_ff with drive_rec = r W^T, drive_rec, metrics): ``membrane_residual_rms``
    is rms(V - drive_ff - drive_rec), ``membrane_residual_ok`` whether it is within
    `membrane_tolerance` (3 sigma_V + 1e-6: the noise alone has std sigma_V).
    """
    drive_rec = rec["r"] @ np.asarray(W, float).T
    corr = balance.drive_correlation(rec["drive_ff"], drive_rec)
    resid = float(np.sqrt(np.mean((rec["V"] - rec["drive_ff"] - drive_rec) ** 2)))
    tol = membrane_tolerance(sigma_V)
    return corr, drive_rec, dict(membrane_residual_rms=resid, membrane_residual_ok=resid <= tol,
                                 membrane_residual_tolerance=tol)


def membrane_tolerance(sigma_V):
    """Largest rms(V - drive_ff - W r) (dimensionless) that counts as V = drive_ff + W r."""
    return 3.0 * float(sigma_V) + 1e-6


#: Largest relative rms difference between a reconstructed and the recorded feedforward drive
#: before the metrics that use the reconstruction are flagged.
RECONSTRUCTION_TOLERANCE = 0.05


def reconstruction_check(recon_ff, rec_ff):
    """Compare a reconstructed feedforward drive with the recorded one (same rows x N).

    Returns metrics: ``reconstruction_error`` (rms difference / rms recorded, dimensionless) and
    ``reconstruction_ok`` (within `RECONSTRUCTION_TOLERANCE`).
    """
    err = float(np.sqrt(np.mean((recon_ff - rec_ff) ** 2) / max(np.mean(rec_ff ** 2), 1e-300)))
    return dict(reconstruction_error=err, reconstruction_ok=err <= RECONSTRUCTION_TOLERANCE)


def spike_metrics(plan, pp, raw_pop):
    """Rates, CV of ISI, Fano factor, multi-spike fraction (dict of metrics, per-neuron table)."""
    sch = plan.schedule
    N = pp.model.N
    st, si = raw_pop["spike_steps"], raw_pop["spike_i"]
    t0, t1 = sch.step(sch.learn_end), sch.step(sch.test_end)
    sel = (st >= t0) & (st < t1)
    rates = spikes.firing_rates(si[sel], N, (t1 - t0) * sch.dt)
    cv = spikes.isi_cv(st[sel] * sch.dt, si[sel], N)
    learn_sel = (st >= sch.step(sch.learn_start)) & (st < t0)
    learn_dur = sch.learn_end - sch.learn_start
    out = dict(rate_hz=float(rates.mean()),
               rate_learning_hz=float(np.sum(learn_sel) / N / learn_dur) if learn_dur > 0
               else float("nan"),
               cv_isi=float(np.nanmean(cv)) if np.any(np.isfinite(cv)) else float("nan"),
               multi_spike_fraction=spikes.multi_spike_fraction(st),
               multi_spike_fraction_test=spikes.multi_spike_fraction(st[sel]),
               n_spikes=int(st.size))
    fano = np.full(N, np.nan)
    if sch.fano_trials >= 3:
        w = sch.step(sch.fano_trial)
        counts = spikes.window_counts(st, si, N, sch.step(sch.test_end), w, sch.fano_trials)
        fano = spikes.fano_factor(counts[1:])  # the first trial holds the transient
        out["fano_factor"] = float(np.nanmean(fano)) if np.any(np.isfinite(fano)) \
            else float("nan")
    table = pd.DataFrame(dict(neuron=np.arange(N), rate_hz=rates, cv_isi=cv, fano_factor=fano))
    return out, table


def weight_curve(plan, pp, raw_pop, W_opt, key="W_fast_t"):
    """Distance of each weight snapshot to ``W_opt``: tidy table (time, distance, scale, rel)."""
    if key not in raw_pop:
        return pd.DataFrame(columns=["time", "distance", "scale", "rel_distance"])
    stack = raw_pop[key]
    dist, s = weights.scale_invariant_distance(stack, W_opt)
    rel = np.linalg.norm(stack - W_opt, axis=(1, 2)) / np.linalg.norm(W_opt)
    return pd.DataFrame(dict(time=raw_pop["t_weights"], distance=dist, scale=s,
                             rel_distance=rel))


def sample_rows(n, every):
    """Indices 0, every, 2 every, ... below n."""
    return np.arange(0, n, max(1, int(every)))


