"""Property tests of every input (issue 13): random strings, numbers with and without units,
lists and arrays given to every parameter of every protocol, through ``--set`` (`parse_sets` and
`make_config`) and through the Python API (``make_config(..., overrides=...)``). Each is either
accepted or refused with `ConfigError`; any other exception fails. Validation only: nothing runs.
Bounded so the whole file runs in well under 60 s."""

import functools

import numpy as np
import pytest
from brian2 import Hz, mV, ms, second
from hypothesis import HealthCheck, given, settings, strategies as st

from locallearn.cli import parse_sets
from locallearn.errors import ConfigError
from locallearn.params import field_paths
from locallearn.protocol import make_config, protocol_names

PROTOCOLS = protocol_names()
UNITS = ["", "ms", "second", "Hz", "Hz**2", "mV", "metre", "1", "Hz^2", "kHz"]


@functools.lru_cache(maxsize=None)
def _keys(protocol):
    return sorted(field_paths(make_config(protocol)))


ALL_KEYS = [(p, k) for p in PROTOCOLS for k in _keys(p)]


def _accepts_or_config_error(protocol, overrides, quick=False):
    """Validation of ``overrides`` either passes or raises ConfigError (pytest reports any
    other exception with its traceback)."""
    try:
        make_config(protocol, quick=quick, overrides=overrides)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc).strip(), str(exc)


def _via_set(protocol, key, text, quick=False):
    try:
        overrides = parse_sets([f"{key}={text}"])
    except ConfigError:
        return
    _accepts_or_config_error(protocol, overrides, quick)


# values that broke or could break validation: overflow, nan, complex, null bytes, deep lists,
# huge powers (must not hang), units where none belong and none where they do
NASTY_TEXT = ["1e400", "nan", "1j*ms", "9**9**9", "[1, [2]]", "[[]]", "x\x00", "3*Hz", "-1",
              "2**64", "1/0", "((1)"]
NASTY_OBJECTS = [None, float("inf"), float("nan"), 10 ** 400, 1j, [1, "a"], np.zeros((2, 3)),
                 1e400 * ms, object()]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_parameter_refuses_nasty_values_cleanly(protocol):
    """Every parameter (bare and dotted names, dynamic rule parameters included) of the
    protocol against fixed awkward inputs, through --set and through the API."""
    for key in _keys(protocol):
        for text in NASTY_TEXT:
            _via_set(protocol, key, text)
        for obj in NASTY_OBJECTS:
            _accepts_or_config_error(protocol, {key: obj})


number = st.one_of(st.integers(-10 ** 6, 10 ** 6), st.floats(allow_nan=True, allow_infinity=True),
                   st.floats(-1e3, 1e3))
text_value = st.one_of(
    st.text(max_size=20),
    st.builds(lambda x, u: f"{x}*{u}" if u else repr(x), number, st.sampled_from(UNITS)),
    st.lists(number, max_size=4).map(repr),
    st.lists(st.lists(number, min_size=1, max_size=3), max_size=3).map(repr),
    st.lists(st.sampled_from(["gle", "vle", "bd2015", "x", "1"]), max_size=3).map(",".join),
)
object_value = st.one_of(
    number, st.text(max_size=10), st.booleans(), st.none(),
    st.builds(lambda x, u: x * u, st.floats(-1e6, 1e6), st.sampled_from([ms, second, Hz, mV])),
    st.lists(number, max_size=4),
    st.lists(number, min_size=1, max_size=6).map(lambda v: np.array(v).reshape(-1, 1)),
    st.lists(st.lists(number, min_size=2, max_size=2), max_size=3),
)
PROPERTY = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.sampled_from(ALL_KEYS), text_value, st.booleans())
def test_random_set_values_are_accepted_or_refused_cleanly(key, text, quick):
    protocol, name = key
    _via_set(protocol, name, text, quick)


@PROPERTY
@given(st.sampled_from(ALL_KEYS), object_value)
def test_random_api_values_are_accepted_or_refused_cleanly(key, value):
    protocol, name = key
    _accepts_or_config_error(protocol, {name: value})


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30))
def test_random_set_items_and_names(item):
    """Whole ``--set`` items (names included): parsed or refused cleanly."""
    try:
        overrides = parse_sets([item])
    except ConfigError:
        return
    _accepts_or_config_error("autoencoder", overrides)
