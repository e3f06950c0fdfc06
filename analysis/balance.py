"""Balance metrics (§6, "Balance").

Inputs are per-step arrays (time, N). In the test phase the membrane potential of neuron i is
exactly V_i = (F x)_i + (W r)_i plus noise (Euler recursion of §4), so the feedforward drive
(F x)_i and the recurrent drive (W r)_i cancel when the network is balanced.

Sections cited as §N are those of ``docs/balanced-spiking.md``.
"""

import numpy as np

from .filters import leaky

__all__ = ["drive_correlation", "linear_fit", "lowpass", "ei_balance"]


def drive_correlation(ff, rec):
    """Per-neuron Pearson correlation over time of ``ff`` and ``rec`` (time, N) -> (N,).

    Near -1 when the recurrent drive cancels the feedforward drive. Neurons with a constant
    drive get NaN.
    """
    ff = np.asarray(ff, float)
    rec = np.asarray(rec, float)
    a = ff - ff.mean(axis=0)
    b = rec - rec.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(a * b, axis=0) / np.sqrt(np.sum(a * a, axis=0) * np.sum(b * b, axis=0))


def linear_fit(x, y):
    """Least-squares line y = slope x + intercept; returns (slope, intercept, R^2)."""
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    ss_tot = np.sum((y - y.mean()) ** 2)
    r2 = 1.0 - np.sum(resid ** 2) / ss_tot if ss_tot > 0 else float("nan")
    return float(slope), float(intercept), float(r2)


def lowpass(u, decay):
    """Leaky integration along time: y[n] = decay y[n-1] + u[n] (axis 0)."""
    return leaky(u, decay)


def ei_balance(ff_input, rec_input, decay):
    """E/I split of the synaptic input, per neuron.

    ``ff_input`` and ``rec_input`` are the input increments per step (time, N) in units of V
    (feedforward: dt F c; recurrent: the jumps W o). Each is split by sign, the excitatory
    parts summed into E and the inhibitory ones into I, both low-passed with the membrane's
    ``decay`` = 1 - lambda dt. Returns (corr(E, -I) per neuron, mean ``|E + I|`` / mean E per
    neuron).
    """
    ff = np.asarray(ff_input, float)
    rec = np.asarray(rec_input, float)
    E = lowpass(np.clip(ff, 0, None) + np.clip(rec, 0, None), decay)
    I = lowpass(np.clip(ff, None, 0) + np.clip(rec, None, 0), decay)
    corr = drive_correlation(E, -I)
    with np.errstate(invalid="ignore", divide="ignore"):
        imbalance = np.mean(np.abs(E + I), axis=0) / np.mean(E, axis=0)
    return corr, imbalance
