"""Configuration fields: parsing, overrides, validation and JSON round trips."""

import json

import numpy as np
import pytest
from brian2 import Hz, ms, second

from locallearn import params
from locallearn.errors import ConfigError
from locallearn.protocol import get_protocol, make_config


@pytest.fixture
def cfg():
    return make_config("autoencoder")


def test_overrides_reach_model_and_protocol_fields(cfg):
    new = params.apply_overrides(cfg, {"beta": "1.0", "dt": "0.05*ms", "N": 8,
                                       "model.eta_f": 0.02, "lam": 40 * Hz})
    assert new.model.beta == 1.0 and new.model.N == 8 and new.model.eta_f == 0.02
    assert float(new.dt / ms) == pytest.approx(0.05)
    assert float(new.model.lam / Hz) == 40
    assert cfg.model.beta == 0.5  # the original is untouched (frozen dataclasses)


def test_equation_strings_are_parameters(cfg):
    rule = "w = w - eta_f_post*plastic_post*V_post\nV_post += w"
    new = params.apply_overrides(cfg, {"fast_on_pre": rule})
    assert new.model.resolved().fast_on_pre == rule
    assert cfg.model.resolved().fast_on_pre != rule


@pytest.mark.parametrize("key,value,fragment", [
    ("nope", "1", "unknown parameter"),
    ("dt", "1*Hz", "units of ms"),
    ("dt", "0.1*ms+", "cannot parse"),
    ("dt", "__import__('os')", "cannot parse"),
    ("beta", "abc", "unknown name"),
    ("N", "2.5", "integer"),
    ("wta", "maybe", "true or false"),
    ("F", "[[1, 'a']]", "numeric array"),
    ("lam", "3", "units of Hz"),
])
def test_bad_override_values_name_the_parameter(cfg, key, value, fragment):
    with pytest.raises(ConfigError) as info:
        params.apply_overrides(cfg, {key: value})
    assert fragment in str(info.value)
    assert str(info.value).startswith(key)


@pytest.mark.parametrize("overrides,name", [
    ({"dt": "-0.1*ms"}, "dt"),
    ({"dt": "0*ms"}, "dt"),
    ({"dt": "25*ms"}, "dt"),            # larger than 1/lam = 20 ms
    ({"tau_c": "0.05*ms"}, "dt"),       # tau_c below dt
    ({"lam": "-5*Hz"}, "lam"),
    ({"lam": "inf*Hz"}, "lam"),
    ({"beta": "nan"}, "beta"),
    ({"N": "0"}, "N"),
    ({"J": "-1"}, "J"),
    ({"x_std": "0"}, "x_std"),
    ({"F": "[[1, 0], [0, 1]]"}, "F"),   # wrong shape for N = 20
    ({"W_init": "[[1]]"}, "W_init"),
    ({"F": "[[1, inf]]*20"}, "F"),
    ({"weights_dt": "0.15*ms"}, "weights_dt"),
    ({"fast_rule": "oja"}, "fast_rule"),
    ({"duration": "-1*second"}, "duration"),
])
def test_validation_names_the_parameter(overrides, name):
    with pytest.raises(ConfigError) as info:
        make_config("autoencoder", overrides=overrides)
    assert str(info.value).startswith(name)
    assert "\n" not in str(info.value)


def test_json_round_trip_keeps_units_and_arrays(cfg):
    new = params.apply_overrides(cfg, {"N": 3, "F": "[[1, 0], [0, 1], [-1, 0]]",
                                       "dt": "0.2*ms"})
    d = params.config_to_dict(new)
    text = json.dumps(d)
    back = params.config_from_dict(type(cfg), json.loads(text))
    assert params.config_to_dict(back) == d
    assert d["dt"] == "0.2 * msecond"
    np.testing.assert_array_equal(back.F, new.F)
    assert float(back.dt / second) == pytest.approx(2e-4)


def test_quick_overrides_validate_for_every_protocol():
    from locallearn.protocol import protocol_names

    for name in protocol_names():
        proto = get_protocol(name)
        full = make_config(proto)
        quick = make_config(proto, quick=True)
        assert params.config_to_dict(full) != params.config_to_dict(quick)


def test_powers_of_units_parse_as_brian2_prints_them():
    cfg = make_config("dynamics", overrides=dict(eta_s="3*Hz^2"))
    assert float(cfg.model.eta_s / Hz ** 2) == pytest.approx(3.0)
    with pytest.raises(ConfigError) as err:
        make_config("dynamics", overrides=dict(eta_s="3"))
    example = str(err.value).split("(e.g. eta_s=")[1].split(")")[0]
    # the example the message gives is itself accepted
    assert float(make_config("dynamics", overrides=dict(eta_s=example)).model.eta_s / Hz ** 2) == 1


@pytest.mark.parametrize("protocol,key,value", [
    ("autoencoder", "N", "9**9**9"),            # an integer power tower: computed for hours
    ("chain", "weight_grad", "9**9**9"),        # the same inside an equation string (sympy)
    ("autoencoder", "N", 10 ** 400),            # int beyond the float range: OverflowError
    ("autoencoder", "N", float("inf")),         # int() of inf: OverflowError
    ("autoencoder", "W_init", [10 ** 400]),     # array of a huge int: OverflowError
    ("autoencoder", "dt", 1j * ms),             # complex quantity: TypeError in the range check
    ("autoencoder", "dt", [1, [2]]),            # ragged list as a quantity: ValueError
    ("autoencoder", "W_init", [1j]),            # complex array: imaginary part dropped silently
    ("fastrules", "rates_bd2015", [None]),      # non-numeric list entry: TypeError in Range
    ("fastrules", "rules", np.zeros((2, 3))),   # arrays as rule names: ValueError in `in`
    ("autoencoder", "J", np.zeros((2, 3))),     # a message must stay on one line
])
def test_awkward_values_are_refused_cleanly(protocol, key, value):
    """Inputs the property tests (tests/test_properties.py) found raising other exceptions,
    hanging or printing several lines."""
    with pytest.raises(ConfigError) as info:
        make_config(protocol, overrides={key: value})
    assert "\n" not in str(info.value)
