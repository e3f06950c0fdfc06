"""Large balanced learners (issue 12): the learning rates and the signal scale follow N by the
rule of docs/balanced-spiking.md §11, and a large run prints its memory estimate before the
build. No simulation: ``prepare`` is pure NumPy."""

import math

import pytest
from brian2 import Hz

from conftest import run_cli
from locallearn.errors import ConfigError
from locallearn.protocol import get_protocol, make_config
from locallearn.protocols import balanced_scaling


def _plan(name, **overrides):
    proto = get_protocol(name)
    cfg = make_config(proto, overrides={k: str(v) for k, v in overrides.items()})
    return proto.prepare(cfg, 1)


def _rates(plan):
    m = plan.populations[0].model
    eta_s = float(m.rule_params["eta_s"] / Hz ** 2) if "eta_s" in m.rule_params else 0.0
    return m.rule_params["eta_f"], eta_s, plan.sigma_c


def test_autoencoder_rates_grow_like_sqrt_n_below_the_rate_cap():
    ef40, _, sc40 = _rates(_plan("autoencoder", N=40))
    ef160, _, sc160 = _rates(_plan("autoencoder", N=160))
    # N_ref = 20: n = 2 and 8, g = sqrt(n) (below the cap 3.75), eta_f = 0.01 n / g = 0.01 sqrt(n)
    assert ef40 == pytest.approx(0.01 * math.sqrt(2), rel=1e-12)
    assert ef160 / ef40 == pytest.approx(2.0, rel=1e-12)
    assert sc160 / sc40 == pytest.approx(2.0, rel=1e-12)  # x_std = 3 g: the command scales too
    ef20, _, sc20 = _rates(_plan("autoencoder", N=20))  # the reference size: unchanged
    assert ef20 == 0.01 and sc40 / sc20 == pytest.approx(math.sqrt(2), rel=1e-12)
    off, _, sc_off = _rates(_plan("autoencoder", N=160, rate_scaling="off"))
    assert off == 0.01 and sc_off == pytest.approx(sc20, rel=1e-12)
    ef_ref, _, _ = _rates(_plan("autoencoder", N=160, N_ref=40))  # n = 4, g = 2
    assert ef_ref == pytest.approx(0.02, rel=1e-12)
    ef_big, _, _ = _rates(_plan("autoencoder", N=160, x_std=12))  # 4x the spikes: g <= 0.9375
    assert ef_big == pytest.approx(0.08, rel=1e-12)  # g = 1, eta_f = 0.01 n


def test_dynamics_rates_past_the_rate_cap():
    # N_ref = 40, R_ref = 600 Hz, cap g <= 0.15 / (1e-4 s x 600 Hz) = 2.5
    ef, es, _ = _rates(_plan("dynamics", N=160, references="false"))  # n = 4, g = 2
    assert (ef, es) == (pytest.approx(0.08, rel=1e-12), pytest.approx(5.0, rel=1e-12))
    # n = 16, g = 2.5: eta_f 0.256 wanted, capped at eta_f beta = 0.07 (beta = 0.54)
    plan = _plan("dynamics", N=640, references="false")
    ef, es, _ = _rates(plan)
    assert (ef, es) == (pytest.approx(0.07 / 0.54, rel=1e-12), pytest.approx(12.8, rel=1e-12))
    assert plan.scaling["scaling_gain"] == pytest.approx(2.5)
    assert plan.scaling["scaling_time_factor"] == pytest.approx(0.256 / (0.07 / 0.54))
    plan = _plan("dynamics", N=640, references="false", fast_rule="fixed")  # no fast rate
    assert float(plan.populations[0].model.rule_params["eta_s"] / Hz ** 2) == pytest.approx(12.8)
    assert plan.scaling["scaling_time_factor"] == 1.0


def test_the_documented_table():
    """docs/balanced-spiking.md §11's table (N = 1000 and 4000, the eta_f beta cap)."""
    s = balanced_scaling.scaled(1000, 20, 0.01, 0.5, 0.0, 3.0, 1e-4, 400.0, 3.0)
    assert (s["gain"], s["eta_f"], s["x_std"]) == pytest.approx((3.75, 0.13333, 11.25), rel=1e-4)
    assert s["time_factor"] == 1.0
    s = balanced_scaling.scaled(4000, 20, 0.01, 0.5, 0.0, 3.0, 1e-4, 400.0, 3.0)
    assert (s["eta_f"], s["rate_hz"]) == pytest.approx((0.14, 0.375))
    assert s["time_factor"] == pytest.approx(0.01 * 200 / 3.75 / 0.14)
    s = balanced_scaling.scaled(1000, 40, 0.04, 0.54, 5.0, 20.0, 1e-4, 600.0, 20.0)
    assert (s["gain"], s["eta_f"], s["eta_s"]) == pytest.approx((2.5, 0.07 / 0.54, 20.0))
    assert s["time_factor"] == pytest.approx(0.4 / (0.07 / 0.54))
    s = balanced_scaling.scaled(4000, 40, 0.04, 0.54, 5.0, 20.0, 1e-4, 600.0, 20.0)
    assert (s["eta_f"], s["eta_s"]) == pytest.approx((0.07 / 0.54, 80.0))


@pytest.mark.parametrize("key,value", [("rate_scaling", "maybe"), ("N_ref", "-1"),
                                       ("N_ref", "2.5")])
def test_bad_values_are_one_line_config_errors(key, value):
    with pytest.raises(ConfigError, match=key) as info:
        make_config(get_protocol("autoencoder"), overrides={key: value})
    assert "\n" not in str(info.value)


def test_memory_line_is_printed_before_the_build(tmp_path):
    """A large run prints its estimate first; forced here (LOCALLEARN_MEMORY_REPORT) on a small
    one whose equations Brian2 rejects: the line comes before the build fails."""
    out = tmp_path / "out"
    proc = run_cli("run", "autoencoder", "--set", "reset=r += undefined_thing", "--set",
                   "N=40", "--out", str(out), env=dict(LOCALLEARN_MEMORY_REPORT="1"))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and not out.exists()
    assert lines[0].startswith("memory estimate: ") and "GiB; 1600 synapses" in lines[0]
    assert "rates scaled for N = 40" in lines[1] and "undefined_thing" in lines[-1]
    proc = run_cli("run", "dynamics", "--set", "N=1000", "--set", "reset=r += undefined_thing",
                   "--out", str(out))  # 6 million synapses: printed without being asked
    assert proc.returncode == 2 and proc.stderr.startswith("memory estimate: ")
    assert "6000000 synapses" in proc.stderr.splitlines()[0]
