"""analysis.filters against scipy.signal.lfilter (the recursion it replaces)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import lfilter

from locallearn.analysis.filters import leaky, leaky_reverse


@settings(max_examples=40, deadline=None)
@given(T=st.integers(1, 4000), K=st.integers(1, 4), seed=st.integers(0, 2**31),
       high=st.floats(0.0, 0.9999))
def test_leaky_matches_lfilter(T, K, seed, high):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((T, K))
    a = rng.uniform(-high, high, K)
    y0 = rng.standard_normal(K)
    got = leaky(u, a, initial=y0)
    want = np.stack([lfilter([1.0], [1.0, -a[k]], u[:, k], zi=[a[k] * y0[k]])[0]
                     for k in range(K)], axis=1)
    scale = 1.0 + np.abs(want).max()
    assert np.abs(got - want).max() <= 1e-11 * scale


def test_leaky_long_run_and_reverse():
    rng = np.random.default_rng(3)
    u = rng.standard_normal(200_000)
    want = lfilter([1.0], [1.0, -0.995], u)
    assert np.abs(leaky(u, 0.995) - want).max() < 1e-10
    g, c = np.array([0.5, -2.0]), np.array([0.9, 0.0])
    v = rng.standard_normal((500, 2))
    want = np.stack([lfilter([g[k]], [1.0, -c[k]], v[::-1, k])[::-1] for k in range(2)], 1)
    assert np.allclose(leaky_reverse(v, c, g), want, atol=1e-12)
    with pytest.raises(ValueError, match="decay"):
        leaky(u, 1.0)
