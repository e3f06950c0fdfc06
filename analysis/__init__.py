"""Pure analysis functions on arrays and DataFrames (NumPy, SciPy, pandas; never Brian2).

Modules
-------
spikes   : rates, CV of ISI, Fano factor, multi-spike fraction, filtered spike trains
errors   : decoding error (eps, NRMSE), least-squares decoders
weights  : scale-invariant weight distance, slow-weight M_hat comparison
balance  : feedforward/recurrent drive correlation, Fig. 1D scatter fit, E/I split
"""

from . import balance, errors, spikes, weights  # noqa: F401
