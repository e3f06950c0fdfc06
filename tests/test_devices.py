"""Device sessions: preferences restored, build directories isolated."""

import os

import pytest

from locallearn import devices
from locallearn.errors import ConfigError


def test_sessions_restore_preferences():
    from brian2 import prefs, get_device

    before = prefs.codegen.target
    with devices.session("numpy"):
        assert prefs.codegen.target == "numpy"
    with devices.session("cpp_standalone") as sim:
        assert type(get_device()).__name__ == "CPPStandaloneDevice"
        assert os.path.isdir(sim.build_dir)
    assert prefs.codegen.target == before
    assert type(get_device()).__name__ == "RuntimeDevice"


def test_unknown_device():
    with pytest.raises(ConfigError, match="device"):
        devices.check_device("gpu")


def test_build_slots_are_exclusive(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALLEARN_BUILD_CACHE", str(tmp_path))
    with devices.build_slot("demo") as a, devices.build_slot("demo") as b:
        assert a != b
    with devices.build_slot("demo") as c:
        assert c == a  # released slots are reused (incremental builds)
    monkeypatch.setenv("LOCALLEARN_BUILD_CACHE", "0")
    with devices.build_slot("demo") as d:
        assert not d.startswith(str(tmp_path))
    assert not os.path.exists(d)  # fresh directories are removed
