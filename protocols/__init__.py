"""Experiments: each builds a network from a model, runs it once and returns tidy tables.

Registered protocols (``python -m locallearn run NAME``):

autoencoder
    Balanced autoencoder learning E/I balance (Bourdoukan & Denève 2015, Fig. 1).
dynamics
    Supervised learning of a linear dynamical system with fast and slow connections (section 2).
fastrules
    Learning speed of the 2015 fast rule against the 2012 rules (Fig. 1E).
chain
    GLE/VLE teacher-student chain of two retrospective neurons (GLE Fig. 5).
fourier
    LE Fourier synthesis of a sawtooth (Haider et al. 2021, Fig. 2a).
fourier_ts
    Teacher-student complex signal with transpose, random and learned feedback, aligned against
    the exact adjoint.
mnist1d
    MNIST-1D (GLE's benchmark): GLE, VLE and instantaneous backprop, single-stream training.
xor
    Temporal XOR: VLE, GLE, feedback alignment and instantaneous backprop side by side.
"""

from . import autoencoder, chain, dynamics, fastrules, fourier, fourier_ts, mnist1d, xor

PROTOCOLS = {p.name: p for p in (autoencoder.PROTOCOL, fastrules.PROTOCOL, dynamics.PROTOCOL,
                                 chain.PROTOCOL, fourier.PROTOCOL, fourier_ts.PROTOCOL,
                                 xor.PROTOCOL, mnist1d.PROTOCOL)}
