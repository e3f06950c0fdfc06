"""First-order recursive filters in NumPy (no SciPy import on the analysis path).

``scipy.signal.lfilter`` computes the same recursion, but importing ``scipy.signal`` costs about
a second, longer than the quick runs' whole analysis; these blocked cumulative sums give the
same values to rounding (tests/test_filters.py compares them).
"""

import numpy as np

_GROWTH = 1e4  # largest 1/decay^j inside one block: bounds the rounding error amplification


def leaky(u, decay, initial=None):
    """Leaky integration along axis 0: ``y[n] = decay * y[n-1] + u[n]``, ``y[-1] = initial``.

    Parameters
    ----------
    u : array (T,) or (T, K), any unit
    decay : float or array (K,), dimensionless, each in (-1, 1)
    initial : None (zeros) or array (K,), the unit of ``u``: the state before the first step

    Returns an array of the shape of ``u`` (float). Computed in blocks of steps within which
    ``|decay|^-j`` stays below 1e4, as scaled cumulative sums.
    """
    u = np.asarray(u, float)
    flat = u.ndim == 1
    x = u.reshape(u.shape[0], -1)
    T, K = x.shape
    a = np.broadcast_to(np.asarray(decay, float), (K,)).copy()
    if not np.all(np.abs(a) < 1):
        raise ValueError(f"decay must lie in (-1, 1), got {decay!r}")
    y_prev = np.zeros(K) if initial is None else \
        np.broadcast_to(np.asarray(initial, float), (K,)).copy()
    out = np.empty_like(x)
    a_max = float(np.abs(a).max()) if K else 0.0
    block = T if a_max == 0.0 else max(1, min(T, int(np.log(_GROWTH) / -np.log(a_max))))
    powers = a[None, :] ** np.arange(block)[:, None]  # (block, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = np.where(powers != 0, 1.0 / powers, 0.0)
    zero = a == 0.0
    for start in range(0, T, block):
        seg = x[start:start + block]
        n = seg.shape[0]
        p, q = powers[:n], inverse[:n]
        y = p * (a * y_prev + np.cumsum(seg * q, axis=0))
        if np.any(zero):  # decay 0: y = u (0^0 = 1 above gives the right first row only)
            y[:, zero] = seg[:, zero]
        out[start:start + n] = y
        y_prev = y[-1]
    return out.reshape(T) if flat else out


def leaky_reverse(u, decay, gain=1.0):
    """The anti-causal filter ``y[n] = gain * u[n] + decay * y[n+1]`` (``y[T] = 0``), axis 0;
    ``decay`` and ``gain`` scalars or arrays (K,), dimensionless."""
    u = np.asarray(u, float)
    return leaky(u[::-1] * np.asarray(gain, float), decay)[::-1]
