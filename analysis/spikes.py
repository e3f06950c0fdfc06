"""Spike statistics (§6, "Spikes").

Spikes are given as two arrays of equal length: ``steps`` (integer time-step index of each
spike) and ``idx`` (neuron index). Times in seconds where stated.

Sections cited as §N are those of ``docs/balanced-spiking.md``.
"""

import numpy as np

from .filters import leaky

__all__ = ["to_steps", "firing_rates", "isi_cv", "fano_factor", "multi_spike_fraction",
           "filtered_spike_trains", "spike_counts", "window_counts", "ping_pong_fraction"]


def to_steps(times, dt):
    """Integer step index of spike ``times`` (s) on a grid of step ``dt`` (s)."""
    return np.rint(np.asarray(times, float) / dt).astype(np.int64)


def spike_counts(idx, N):
    """Number of spikes of each of ``N`` neurons (integer array of length N)."""
    return np.bincount(np.asarray(idx, np.int64), minlength=N)[:N]


def firing_rates(idx, N, duration):
    """Mean rate of each neuron (Hz) over ``duration`` (s)."""
    if duration <= 0:
        raise ValueError("duration must be positive")
    return spike_counts(idx, N) / duration


def isi_cv(times, idx, N, min_spikes=3):
    """Coefficient of variation of the inter-spike intervals of each neuron (dimensionless).

    Neurons with fewer than ``min_spikes`` spikes get NaN.
    """
    times = np.asarray(times, float)
    idx = np.asarray(idx, np.int64)
    cv = np.full(N, np.nan)
    order = np.lexsort((times, idx))
    t_sorted, i_sorted = times[order], idx[order]
    bounds = np.searchsorted(i_sorted, np.arange(N + 1))
    for n in range(N):
        t = t_sorted[bounds[n]:bounds[n + 1]]
        if len(t) >= min_spikes:
            isi = np.diff(t)
            m = isi.mean()
            cv[n] = isi.std() / m if m > 0 else np.nan
    return cv


def window_counts(steps, idx, N, start, window, n_windows):
    """Spike counts in ``n_windows`` consecutive windows of ``window`` steps from step ``start``.

    Returns an integer array (n_windows, N).
    """
    steps = np.asarray(steps, np.int64)
    idx = np.asarray(idx, np.int64)
    sel = (steps >= start) & (steps < start + window * n_windows)
    w = (steps[sel] - start) // window
    out = np.zeros((n_windows, N), np.int64)
    np.add.at(out, (w, idx[sel]), 1)
    return out


def fano_factor(counts, min_mean=0.0):
    """Fano factor var/mean of spike counts over repeated trials, per neuron (dimensionless).

    ``counts`` has shape (trials, neurons). Neurons whose mean count is <= ``min_mean`` get NaN.
    """
    counts = np.asarray(counts, float)
    mean = counts.mean(axis=0)
    var = counts.var(axis=0, ddof=1) if counts.shape[0] > 1 else np.full(counts.shape[1], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        ff = var / mean
    ff[mean <= min_mean] = np.nan
    return ff


def multi_spike_fraction(steps):
    """Fraction of time steps holding at least one spike that hold more than one (§4)."""
    steps = np.asarray(steps, np.int64)
    if steps.size == 0:
        return 0.0
    _, per_step = np.unique(steps, return_counts=True)
    return float(np.mean(per_step > 1))


def ping_pong_fraction(times, idx, F, window, cos_max=-0.9):
    """Fraction of spikes followed within ``window`` (s) by a spike of a near-opposite neuron.

    Two neurons are near-opposite when the cosine of their feedforward weights F (N x J) is at
    most ``cos_max`` (§7, "ping-pong").
    """
    times = np.asarray(times, float)
    idx = np.asarray(idx, np.int64)
    if times.size < 2:
        return 0.0
    order = np.argsort(times, kind="stable")
    times, idx = times[order], idx[order]
    Fn = np.asarray(F, float)
    Fn = Fn / np.linalg.norm(Fn, axis=1, keepdims=True)
    opposite = (Fn @ Fn.T) <= cos_max
    end = np.searchsorted(times, times + window, side="right")
    hits = 0
    for k in range(len(times)):
        later = idx[k + 1:end[k]]
        if later.size and np.any(opposite[idx[k], later]):
            hits += 1
    return hits / len(times)


def filtered_spike_trains(steps, idx, N, start, stop, decay):
    """Filtered spike trains r as Brian2 records them at the start of each step.

    ``r[n] = decay * r[n-1] + o[n-1]`` with ``o[m]`` the spike count vector of step m, i.e.
    r[n] = sum_{m < n} decay^(n-1-m) o[m] (Euler integration of dr/dt = -lambda r with jumps of
    1, ``decay = 1 - lambda dt``). Returns an array (stop - start, N) for steps start..stop-1,
    including the contribution of every spike before ``start``.
    """
    steps = np.asarray(steps, np.int64)
    idx = np.asarray(idx, np.int64)
    T = stop - start
    r0 = np.zeros(N)
    before = steps < start - 1
    if np.any(before):  # state carried in from earlier spikes: r at step start-1 ...
        np.add.at(r0, idx[before], decay ** (start - 2 - steps[before]).astype(float))
    o = np.zeros((T + 1, N))  # o[k] = spikes at step start - 1 + k
    sel = (steps >= start - 1) & (steps < stop - 1)
    np.add.at(o, (steps[sel] - (start - 1), idx[sel]), 1.0)
    # r[start + k] = decay * r[start + k - 1] + o at step start + k - 1
    # with r_prev = r at step start - 1 (which is r0 only counting spikes before start - 1)
    return leaky(o[:T], decay, initial=r0)
