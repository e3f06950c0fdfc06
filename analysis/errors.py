"""Decoding errors (§6, "Decoding error").

Sections cited as §N are those of ``docs/balanced-spiking.md``.
"""

import numpy as np

__all__ = ["decoding_error", "nrmse", "least_squares_decoder", "mse"]


def decoding_error(x, xhat):
    """Normalised decoding error eps = sum_d var(x_d - xhat_d) / sum_d var(x_d), dimensionless.

    ``x`` and ``xhat`` have shape (time, J) (a 1-D array is one channel).
    """
    x = np.asarray(x, float)
    xhat = np.asarray(xhat, float)
    if x.ndim == 1:
        x, xhat = x[:, None], xhat[:, None]
    if x.shape != xhat.shape:
        raise ValueError(f"x has shape {x.shape} but xhat has shape {xhat.shape}")
    denom = np.sum(np.var(x, axis=0))
    if denom == 0:
        return float("nan")
    return float(np.sum(np.var(x - xhat, axis=0)) / denom)


def nrmse(x, xhat):
    """Normalised root-mean-square error sqrt(eps), dimensionless."""
    return float(np.sqrt(decoding_error(x, xhat)))


def mse(y, target):
    """Mean squared error over all entries (units of y squared)."""
    y = np.asarray(y, float)
    target = np.asarray(target, float)
    return float(np.mean((y - target) ** 2))


def least_squares_decoder(r, x):
    """Linear decoder D (J x N) minimising ||x - r D^T||^2 over time; r (time, N), x (time, J)."""
    r = np.asarray(r, float)
    x = np.asarray(x, float)
    # the normal equations (N x N) instead of an SVD of the long (time x N) matrix; their
    # minimum-norm solution pinv(r^T r) r^T x equals pinv(r) x (silent neurons included)
    sol, *_ = np.linalg.lstsq(r.T @ r, r.T @ x, rcond=None)
    return sol.T
