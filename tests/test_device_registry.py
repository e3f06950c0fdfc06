"""Devices are registered modules (issue 12): the runner asks a `Device` record's capabilities,
never its name, so a new device is one module (here: one record in a test)."""

import pytest

from locallearn import devices
from locallearn.devices import Device, registry
from locallearn.devices.runtime import activate_runtime
from locallearn.errors import ConfigError
from locallearn.protocol import run_protocol

TINY = dict(duration="0.03*second", t_test="0.02*second", t_before="0*second",
            fano_trials="0", weights_dt="0.01*second")


@pytest.fixture
def extra_device():
    """A new device registered for one test (NumPy runtime without custom events or reruns),
    removed afterwards."""
    dev = registry.register(Device(name="plainnumpy", doc="NumPy runtime, test double",
                                   activate=activate_runtime("numpy"), custom_events=False,
                                   reruns=False, seeded=False))
    yield dev
    registry._DEVICES.pop(dev.name, None)


def test_builtin_devices_and_their_capabilities():
    assert devices.DEVICES[:4] == ("numpy", "cython", "cpp_standalone", "genn")
    assert "cuda" in devices.names() and devices.RUNTIME_DEVICES == ("numpy", "cython")
    genn, cpp, cuda = devices.get("genn"), devices.get("cpp_standalone"), devices.get("cuda")
    assert not genn.in_process and not genn.seeded and not genn.custom_events and genn.gpu
    assert cpp.standalone and cpp.reruns and cpp.seeded and not cpp.gpu
    assert cuda.standalone and cuda.gpu and cuda.custom_events and not cuda.reruns
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        devices.check_device("gpu")


def test_a_registered_device_runs_and_its_capabilities_are_checked(extra_device, tmp_path):
    """The new device runs a protocol; what it cannot do is refused by capability with one
    line naming the parameter: the events one-spike rule, sweeps (no reruns)."""
    from locallearn.sweep import run_sweep

    res = run_protocol("autoencoder", quick=True, overrides=TINY, device="plainnumpy", seed=1,
                       report=False)
    assert res.config["device"] == "plainnumpy" and res.metrics["n_spikes"] > 0
    with pytest.raises(ConfigError, match="wta_count: 'events' and 'argmax' need custom events"):
        run_protocol("autoencoder", quick=True, overrides=dict(TINY, wta_count="events"),
                     device="plainnumpy", report=False)
    with pytest.raises(ConfigError, match="sweeps rerun compiled binaries"):
        run_sweep("autoencoder", ["seed=1,2"], str(tmp_path / "sw"), device="plainnumpy",
                  progress=False)


def test_genn_order_refuses_the_events_count():
    with pytest.raises(ConfigError, match="genn_order needs 'summed'"):
        run_protocol("autoencoder", quick=True, overrides=dict(TINY, wta_count="events"),
                     device="numpy", report=False, genn_order=True)


def test_cuda_without_brian2cuda_is_one_line(monkeypatch):
    """Where brian2cuda is not installed, --device cuda names what to do."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "brian2cuda" else real(name, *a))
    with pytest.raises(ConfigError, match="make cuda-env"):
        devices.check_device("cuda")


def test_register_takes_only_consistent_records():
    with pytest.raises(TypeError):
        registry.register("numpy")
    with pytest.raises(ValueError, match="execute"):
        registry.register(Device(name="broken", doc="", in_process=False))
