"""Cross-entropy output for the prospective rate networks (classification; GLE's MNIST-1D setup,
``docs/latent-equilibrium.md`` §8).

The output layer of `locallearn.models.rate` sends the error ``I_fb = beta mask (y* - r)`` (MSE).
For classification with a softmax cross-entropy loss C = -sum_k y*_k log softmax(r)_k the
error is ``beta (y* - softmax(r))`` (the gradient of -C with respect to the linear outputs r,
§8). The softmax needs the other outputs of the same network: a `Synapses` object inside each
replica's output block, all to all (self included), sums

    zsum_j = sum_k exp(r_k - r_j)  =  1 / softmax(r)_j,

which never overflows for outputs of ordinary size (only differences are exponentiated) and is
at least 1 (the self term); it is clipped to >= 1 where it is read, because before the first
summation (the first step of a run) it is 0. The
summed variable reads committed rates, so ``I_fb`` at the next commit reads ``r`` and ``zsum``
of the same step (the scheme of `locallearn.models.rate`, one step of delay per layer).

Two integrators serve the read-out: ``osum`` (the output integrated over time: prediction =
argmax of the output summed over a sample) and ``cesum`` (the cross-entropy integrated over
time), both dimensionless, both reset by the protocol at the start of a run segment.

Units: rates and errors dimensionless, ``t_off`` in seconds.
"""

import numpy as np

__all__ = ["OUTPUT_CE_EQS", "SOFTMAX_MODEL", "connect_softmax"]

#: Output layer with the cross-entropy error (replaces `rate.OUTPUT_ERROR_EQS`, §8).
OUTPUT_CE_EQS = """
I_fb = beta*mask*(y_tgt - 1/clip(zsum, 1, 1e300)) : 1  # CE error beta (y* - softmax(r)) (§8)
zsum : 1                                        # sum_k exp(r_k - r_j) = 1/softmax_j (summed)
y_tgt : 1                                       # one-hot target y*
mask : 1                                        # 1 where an error is given
beta : 1 (constant)                             # target nudging strength (§1.3)
cls : 1 (constant)                              # class of this output unit (0..K-1)
t_off : second (constant)                       # time of this run segment's start
dosum/dt = r_s/second : 1                       # output integrated over time (read-out, §8)
dcesum/dt = y_tgt*log(clip(zsum, 1, 1e300))/second : 1  # cross-entropy integrated (§8)
"""

#: Synapse inside one replica's output block (all to all, self included): the softmax sum.
SOFTMAX_MODEL = """
zsum_post = exp(r_s_pre - r_s_post) : 1 (summed)  # 1/softmax (docs/latent-equilibrium.md §8)
"""


def connect_softmax(group, dt):
    """Add the softmax-sum synapses to the output layer of a built `rate.RateGroup` (inside a
    session); sets ``cls`` (class index per output unit, dimensionless). ``dt``: Quantity
    (second). Returns the Synapses object (also appended to ``group.objects``)."""
    from brian2 import Synapses

    out = group.layers[-1]
    n = group.sizes[-1]
    R = len(group.replicas)
    pre, post = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    offs = (np.arange(R) * n)[:, None]
    s = Synapses(out, out, SOFTMAX_MODEL, name=f"{group.name}_softmax", dt=dt)
    s.connect(i=(pre.ravel()[None, :] + offs).ravel(), j=(post.ravel()[None, :] + offs).ravel())
    out.cls = np.tile(np.arange(n, dtype=float), R)
    group.objects.append(s)
    return s
