"""The one-spike rule counted from ``above`` events (``wta_count="events"``) and as one argmax per
step (``"argmax"``, issue 12) give the summed count's spikes: same neurons, same steps, same
weights (models/spiking.py, `add_wta`)."""

import numpy as np
import pytest

from locallearn.models.spiking import SINE_TARGET_EQS, SpikingModel
from locallearn.protocol import run_protocol

#: A noise-free quick autoencoder: sine command, no membrane noise (about 1200 spikes).
NOISE_FREE = dict(duration="0.5*second", t_test="0.2*second", t_before="0.1*second",
                  fano_trials="0", sigma_V="0", target_eqs=SINE_TARGET_EQS)


def _runs(device, overrides):
    return [run_protocol("autoencoder", quick=True, overrides=dict(overrides, wta_count=mode),
                         device=device, seed=1, report=False)
            for mode in ("summed", "events", "argmax")]


def _assert_same(a, *others):
    assert a.metrics["n_spikes"] > 500
    for b in others:
        assert b.metrics["multi_spike_fraction"] == 0.0
        np.testing.assert_array_equal(a.arrays["spike_i"], b.arrays["spike_i"])
        np.testing.assert_array_equal(a.arrays["spike_steps"], b.arrays["spike_steps"])
        np.testing.assert_allclose(a.arrays["W_final"], b.arrays["W_final"], rtol=0, atol=1e-12)


def test_events_count_gives_the_summed_spikes_on_a_noise_free_input():
    """numpy runtime, deterministic input: identical spike trains and final weights."""
    _assert_same(*_runs("numpy", NOISE_FREE))


@pytest.mark.slow
def test_events_count_gives_the_summed_spikes_in_standalone_with_noise():
    """cpp_standalone, membrane and command noise on (seed 1): neither count draws random
    numbers, so the noise is the same and so are the spikes."""
    _assert_same(*_runs("cpp_standalone", dict(duration="0.5*second", t_test="0.2*second",
                                                t_before="0.1*second", fano_trials="0")))


def test_events_count_is_a_checked_choice():
    """Only 'summed', 'events' and 'argmax' are accepted; the events rule declares its stored
    excess."""
    from locallearn.errors import ConfigError

    with pytest.raises(ConfigError, match="wta_count"):
        run_protocol("autoencoder", quick=True, overrides=dict(wta_count="fastest"),
                     device="numpy", report=False)
    eqs = SpikingModel(wta_count="events").neuron_equations()
    assert "excess_old : 1" in eqs
    assert "excess_old" not in SpikingModel().neuron_equations()
