"""Weight comparisons (§6, "Weight error" and "Slow weights").

Sections cited as §N are those of ``docs/balanced-spiking.md``.
"""

import numpy as np

__all__ = ["scale_invariant_distance", "relative_distance", "implied_decoder", "mhat",
           "mhat_distance"]


def scale_invariant_distance(W, W_opt):
    """Scale-invariant distance of W from W_opt, and the scale s (both dimensionless).

    s = <W, W_opt>_F / ||W_opt||_F^2 and dist = ||W - s W_opt||_F^2 / ||W||_F^2 (§6), so
    dist = 0 for any positive multiple of W_opt and dist = 1 for W orthogonal to it.
    ``W`` may be a stack (..., N, N); then arrays of dist and s are returned.
    """
    W = np.asarray(W, float)
    W_opt = np.asarray(W_opt, float)
    s = np.sum(W * W_opt, axis=(-2, -1)) / np.sum(W_opt ** 2)
    resid = W - np.asarray(s)[..., None, None] * W_opt
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.sum(resid ** 2, axis=(-2, -1)) / np.sum(W ** 2, axis=(-2, -1))
    if np.ndim(dist) == 0:
        return float(dist), float(s)
    return dist, s


def relative_distance(W, W_opt):
    """Plain relative distance ||W - W_opt||_F / ||W_opt||_F (dimensionless)."""
    W = np.asarray(W, float)
    W_opt = np.asarray(W_opt, float)
    return float(np.linalg.norm(W - W_opt) / np.linalg.norm(W_opt))


def implied_decoder(W, F):
    """Decoder implied by fast weights W = -F D: D = -F^+ W (J x N), dimensionless.

    For W = -s F F^T this is s F^T: the network represents x as s F^T r.
    """
    return -np.linalg.pinv(np.asarray(F, float)) @ np.asarray(W, float)


def mhat(W_s, F):
    """M_hat = F^+ W_s F^+T (J x J, units of W_s), the part of W_s the readout sees (§6)."""
    Fp = np.linalg.pinv(np.asarray(F, float))
    return Fp @ np.asarray(W_s, float) @ Fp.T


def mhat_distance(W_s, F, A, lam):
    """Relative Frobenius distance ||M_hat - (A + lam I)|| / ||A + lam I|| (dimensionless).

    ``W_s``, ``A`` and ``lam`` in the same units (Hz).
    """
    A = np.atleast_2d(np.asarray(A, float))
    M = A + lam * np.eye(A.shape[0])
    return float(np.linalg.norm(mhat(W_s, F) - M) / np.linalg.norm(M))
