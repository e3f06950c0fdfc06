"""Learning rates and signal scale of the balanced learners as the network grows
(docs/balanced-spiking.md §11, "Large learners").

The rates of the autoencoder and the dynamics protocols were measured at a reference size
N_ref (20 and 20 J neurons). With unit feedforward rows and a fixed signal, the population's
spike count is set by the signal alone, so each neuron fires ~N_ref/N times as often at size N
and every column of the fast weights, which learns only at its own neuron's spikes (§2), learns
N/N_ref times slower; the slow rule seen in M_hat slows down as 1/N (§10). `scaled` restores
comparable learning times (§11):

    n   = N / N_ref                                         (only for N > N_ref)
    g   = min(sqrt(n), RHO_MAX / (dt R_ref))                signal gain (x_std -> g x_std)
    eta_f -> eta_f n / g        (capped at eta_f beta <= ETA_BETA_MAX; past the cap the
                                 fast weights need time_factor = uncapped / capped times
                                 the reference's simulated time)
    eta_s -> eta_s n / g^2

R_ref = REF_POP_RATE_HZ x_std / x_std_ref is the population rate, the same at every N (§11);
g x_std is the same network as unit rows shrunk to norm 1/g (the decoder's scale), with
thresholds, mu, sigma_V and the weights in units of the unit-row network (§11).
"""

import dataclasses
import math
import sys

from brian2 import Hz, second

from locallearn.params import param, Choice, Range

__all__ = ["ScaledRates", "RHO_MAX", "ETA_BETA_MAX", "scaled", "apply"]

#: Fraction of time steps that may hold the population's one spike (the one-spike rule's
#: ceiling is 1/dt; near it the voltage at a spike overshoots and learning runs away, §10).
RHO_MAX = 0.15
#: Largest fraction of the way to its fixed point one spike moves a fast weight (eta_f beta):
#: a learned weight averages about 2 / (eta_f beta) spikes, and its noise is expected to set a
#: floor under the weight distance (a judgement, not a measured optimum; §11).
ETA_BETA_MAX = 0.07


@dataclasses.dataclass(frozen=True, eq=False)
class ScaledRates:
    """Fields of the large-learner rule (mixed into the autoencoder and dynamics configs)."""

    rate_scaling: str = param("auto", "'auto': eta_f, eta_s and x_std are given at N_ref and "
                              "scaled when N > N_ref (docs/balanced-spiking.md §11); 'off': "
                              "used as given", check=Choice("auto", "off"))
    N_ref: int = param(0, "reference size of the learning rates (0: the protocol's own, "
                       "20 for autoencoder, the system's N for dynamics)",
                       check=Range(0, 100000))


def scaled(N, N_ref, eta_f, beta, eta_s, x_std, dt, pop_rate_hz, x_std_ref):
    """The rule of §11: dict with n, gain g, eta_f, eta_s (Hz^2, float), x_std, the
    predicted population rate (Hz) and per-neuron rate (Hz), and time_factor (the fast
    weights' learning time over the reference's, 1 below the eta_f beta cap); plain floats.

    ``dt`` in seconds; ``pop_rate_hz``: population rate (Hz) measured at ``x_std_ref`` (at
    the reference size; it does not depend on N); ``eta_f``, ``beta``, ``x_std``
    dimensionless; ``eta_s`` in Hz^2 (float).
    """
    n = max(1.0, N / N_ref)
    pop_ref = pop_rate_hz * x_std / x_std_ref
    g = max(1.0, min(math.sqrt(n), RHO_MAX / (dt * pop_ref)))
    want = eta_f * n / g
    ef = max(eta_f, ETA_BETA_MAX / beta) if beta > 0 and want * beta > ETA_BETA_MAX else want
    return dict(n=n, gain=g, eta_f=ef, eta_s=eta_s * n / g ** 2, x_std=x_std * g,
                pop_rate_hz=pop_ref * g, rate_hz=pop_ref * g / N,
                time_factor=want / ef if ef > 0 else 1.0)


def apply(cfg, model, n_ref_default, pop_rate_hz, x_std_ref, label):
    """(model, x_std, info) of ``cfg`` after the rule (``model`` resolved): unchanged when
    ``rate_scaling`` is 'off' or N <= N_ref. ``info`` (for metrics) holds the factors; a line
    on stderr says what was scaled."""
    N_ref = cfg.N_ref or n_ref_default
    info = dict(scaling_N_ref=float(N_ref), scaling_gain=1.0)
    if cfg.rate_scaling == "off" or model.N <= N_ref:
        return model, cfg.x_std, info
    active = {p.name for p in model.active_params()}  # the rules in effect (not 'fixed')
    rp = {k: v for k, v in model.rule_params.items() if k in active}
    eta_s = float(rp["eta_s"] / Hz ** 2) if "eta_s" in rp else 0.0
    # without a fast rule eta_f is 0 here, and so its time factor 1
    s = scaled(model.N, N_ref, rp.get("eta_f", 0.0), rp.get("beta", 0.0), eta_s, cfg.x_std,
               float(cfg.dt / second), pop_rate_hz, x_std_ref)
    changes, said = {}, []
    if "eta_f" in rp:
        changes["eta_f"] = s["eta_f"]
        said.append(f"eta_f {rp['eta_f']:g} -> {s['eta_f']:.4g}")
    if "eta_s" in rp:
        changes["eta_s"] = s["eta_s"] * Hz ** 2
        if eta_s:
            said.append(f"eta_s {eta_s:g} -> {s['eta_s']:.4g}")
    model = model.with_params(**changes)
    info.update(scaling_gain=s["gain"],
                scaling_eta_f=s["eta_f"] if "eta_f" in rp else float("nan"),
                scaling_eta_s=s["eta_s"], scaling_x_std=s["x_std"],
                scaling_rate_hz_predicted=s["rate_hz"],
                scaling_time_factor=s["time_factor"])
    print(f"{label}: rates scaled for N = {model.N} from N_ref = {N_ref} (§11): gain "
          f"{s['gain']:.3g} (x_std {cfg.x_std:g} -> {s['x_std']:.4g}), " + ", ".join(said)
          + f"; predicted {s['rate_hz']:.3g} Hz per neuron"
          + (f"; eta_f capped (eta_f beta <= {ETA_BETA_MAX:g}): the fast weights need about "
             f"{s['time_factor']:.2g}x the reference's learning time" if s["time_factor"] > 1.001
             else ""), file=sys.stderr)
    return model, s["x_std"], info
