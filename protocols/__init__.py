"""Experiments: each builds a network from a model, runs it once and returns tidy tables.

Registered protocols (``python -m locallearn run NAME``):

autoencoder
    Balanced autoencoder learning E/I balance (Bourdoukan & Denève 2015, Fig. 1).
"""

from . import autoencoder

PROTOCOLS = {p.name: p for p in (autoencoder.PROTOCOL,)}
