"""MNIST-1D data for the protocol ``mnist1d`` (docs/latent-equilibrium.md §8).

The data set is generated locally by the ``mnist1d`` package from its digit templates
(``make_dataset`` with the package's default arguments: 4000 training and 1000 test sequences
of length 40, seed 42); nothing is downloaded. The generated arrays are cached in the user's
cache directory (``$LOCALLEARN_CACHE`` or ``$XDG_CACHE_HOME/locallearn`` or
``~/.cache/locallearn``), never in the repository.

Each sequence is resampled to ``n_points`` points (linear interpolation; GLE: 72) and shown as
one scalar input stream, each point held for ``point_len`` (GLE: 1 time unit = 1/dt steps).
"""

import hashlib
import os

import numpy as np

from locallearn.errors import ConfigError

__all__ = ["cache_dir", "load", "upsample"]


def cache_dir():
    """Directory of cached generated data sets (created on demand)."""
    root = os.environ.get("LOCALLEARN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "locallearn")
    os.makedirs(root, exist_ok=True)
    return root


def _generate(data_seed):
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise ConfigError("mnist1d", "the protocol needs the 'mnist1d' package: pip install "
                          "mnist1d (or pip install 'locallearn[mnist1d]')") from None
    args = get_dataset_args()
    args.seed = int(data_seed)
    d = make_dataset(args)
    return dict(x=np.asarray(d["x"], float), y=np.asarray(d["y"], int),
                x_test=np.asarray(d["x_test"], float), y_test=np.asarray(d["y_test"], int))


def load(data_seed=42):
    """The MNIST-1D arrays x (4000, 40), y (4000,), x_test (1000, 40), y_test (1000,)
    (dimensionless values, integer labels 0-9), generated once per ``data_seed`` and cached."""
    key = hashlib.sha256(f"mnist1d-default-args-seed{int(data_seed)}".encode()).hexdigest()[:12]
    path = os.path.join(cache_dir(), f"mnist1d_{key}.npz")
    if os.path.isfile(path):
        try:
            with np.load(path) as f:
                return {k: f[k] for k in ("x", "y", "x_test", "y_test")}
        except (OSError, KeyError, ValueError):
            pass  # a damaged cache file: generate again
    d = _generate(data_seed)
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, **d)
    os.replace(tmp, path)
    return d


def upsample(x, n_points):
    """Sequences ``x`` (n, L) resampled to (n, n_points) by linear interpolation on [0, 1]."""
    x = np.asarray(x, float)
    src = np.linspace(0.0, 1.0, x.shape[1])
    dst = np.linspace(0.0, 1.0, int(n_points))
    return np.stack([np.interp(dst, src, row) for row in x])
