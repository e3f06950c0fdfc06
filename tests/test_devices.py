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


def test_clock_lines_are_ordered_whatever_the_set_order():
    """Brian2 queues the clocks' resets in set (address) order; `_deterministic_sources` sorts
    each block of them by name so main.cpp is identical between processes (no recompiles)."""
    from types import SimpleNamespace

    from locallearn.devices.session import _deterministic_sources

    resets = [("set_by_single_value", (f"_array_{c}_{v}", 0, "0"))
              for c in ("defaultclock", "statemonitor_2_clock", "statemonitor_1_clock")
              for v in ("timestep", "t")]
    other = ("set_by_single_value", ("_array_neurons_V", 0, "0.5"))
    queues = []
    for order in ([0, 1, 2, 3, 4, 5], [4, 5, 0, 1, 2, 3], [2, 3, 4, 5, 0, 1]):
        queue = [other] + [resets[k] for k in order] + [("run_network", None), other]
        dev = SimpleNamespace(main_queue=queue)
        _deterministic_sources(dev)
        queues.append(dev.main_queue)
    assert queues[0] == queues[1] == queues[2]
    assert queues[0][0] == other and queues[0][-2:] == [("run_network", None), other]


_FOUR_CLOCKS = """
import sys
from brian2 import NeuronGroup, StateMonitor, ms
from locallearn import devices
shift = [object() for _ in range(int(sys.argv[2]))]  # moves the addresses that order Brian2's sets
with devices.session("cpp_standalone", build_dir=sys.argv[1]) as sim:
    g = NeuronGroup(3, "dv/dt = -v/(10*ms) : 1", method="exact", name="neurons")
    mons = [StateMonitor(g, "v", record=True, dt=(k + 1) * ms, name=f"vmon{k}")
            for k in range(3)]
    sim.prepare([g] + mons, 5 * ms, report=False)
    sim.run_point()
"""


def test_rerun_of_an_unchanged_network_compiles_nothing(tmp_path):
    """The same four-clock network built by two processes in one build directory: the second
    regenerates identical sources, so make leaves every object file alone."""
    import subprocess
    import sys

    build = tmp_path / "build"

    def stamps(shift):
        subprocess.run([sys.executable, "-c", _FOUR_CLOCKS, str(build), str(shift)], check=True,
                       capture_output=True)
        return {os.path.relpath(os.path.join(root, f), build):
                os.stat(os.path.join(root, f)).st_mtime_ns
                for root, _, files in os.walk(build) for f in files if f.endswith((".o", ".cpp"))}

    first = stamps(0)
    assert any(f.endswith("main.o") for f in first)
    for shift in (1, 2, 5):  # other addresses, other set orders: a lucky pass is unlikely
        assert stamps(shift) == first
