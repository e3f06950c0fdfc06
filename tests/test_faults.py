"""Run directories that survive faults (issue 13): one writer per run directory, checked
checkpoints with fallback, memory estimates before the build, faults while the final result is
written."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO, run_cli
from locallearn import memory, results
from locallearn.errors import ConfigError
from locallearn.execution import _load_checkpoints
from locallearn.protocol import get_protocol, make_config, protocol_names, resume_run, run_protocol
from locallearn.runlock import holder, lock_path, run_lock

SEG = dict(duration="2*second", t_test="0.5*second", t_before="0.25*second", fano_trials="0",
           checkpoint_every="0.5*second")


class Crash(Exception):
    pass


def _crashed_run(out, seed, after):
    """A segmented autoencoder run stopped after segment ``after`` (a resumable directory)."""
    def crash(k, n):
        if k == after:
            raise Crash()

    with pytest.raises(Crash):
        run_protocol("autoencoder", quick=True, overrides=SEG, seed=seed, out=out, report=False,
                     after_segment=crash)


def _reference(seed):
    return run_protocol("autoencoder", quick=True, overrides=SEG, seed=seed, report=False)


def _truncate(path, keep=0.5):
    size = os.path.getsize(path)
    with open(path, "r+b") as fh:
        fh.truncate(int(size * keep))


# ---------------------------------------------------------------------------------------------
# one writer per run directory
# ---------------------------------------------------------------------------------------------
HOLD = ("import sys, time; from locallearn.runlock import run_lock\n"
        "with run_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)\n")


def test_second_writer_is_refused_with_the_holders_pid_and_a_killed_holder_frees_it(tmp_path):
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        assert holder(out) == p.pid
        with pytest.raises(ConfigError, match=f"pid {p.pid}"):
            with run_lock(out):
                pass
        # the command line: one line, exit status 2, nothing written
        proc = run_cli("run", "autoencoder", "--quick", "--out", str(out))
        assert proc.returncode == 2 and f"pid {p.pid}" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert not out.exists()
    finally:
        p.kill()
        p.wait()
    with run_lock(out) as path:  # the OS released the dead holder's lock
        assert holder(out) == os.getpid() and path == lock_path(out)
    assert not os.path.exists(lock_path(out))  # a clean release removes the file
    with run_lock(out):
        with run_lock(out):  # re-entrant within a process
            pass
        assert holder(out) == os.getpid()


class _Holder:
    """Another process holding the lock of ``path`` (a context manager)."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", HOLD, str(self.path)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "held"
        return self.proc.pid

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def test_sweeps_and_the_figure_cache_take_the_lock(tmp_path):
    from locallearn.figures import RunSpec, _run_path, cached_run
    from locallearn.sweep import run_sweep

    sw = tmp_path / "sweep"
    with _Holder(sw) as pid:
        with pytest.raises(ConfigError, match=f"pid {pid}"):
            run_sweep("autoencoder", ["eta_f=0.01,0.02"], sw, quick=True, progress=False)
    assert not sw.exists()
    spec = RunSpec("xor", overrides=(("n_train", "10"),), quick=True)
    _, path = _run_path(spec, str(tmp_path / "cache"), "numpy")
    with _Holder(path) as pid:
        with pytest.raises(ConfigError, match=f"--cache: .*pid {pid}"):
            cached_run(spec, str(tmp_path / "cache"), device="numpy", report=False)
    assert not os.path.exists(path)


def test_save_over_a_run_directory_without_an_atomic_exchange(tmp_path, monkeypatch):
    """Where the system cannot exchange two directories, save still replaces the old one and
    keeps its checkpoints; an interrupted save's temporaries are removed by the next writer."""
    res = results.RunResult(protocol="demo", config=dict(N=1), metrics=dict(status="ok"),
                            arrays=dict(W=np.ones(3)))
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "state.npz").write_bytes(b"x")
    (out / "config.json").write_text("{}")
    monkeypatch.setattr(results, "_exchange", lambda a, b: False)
    results.save(res, out, overwrite=True)
    assert sorted(os.listdir(out)) == ["arrays.npz", "checkpoints", "config.json",
                                       "metrics.json"]
    assert (out / "checkpoints" / "state.npz").read_bytes() == b"x"
    (tmp_path / ".tmp-run-abcd1234").mkdir()  # left by a killed save
    (tmp_path / ".tmp-run-2-abcd1234").mkdir()  # another run's: kept
    results.remove_stale(out)
    assert sorted(os.listdir(tmp_path)) == [".tmp-run-2-abcd1234", "run"]


def test_two_resumes_at_once_one_proceeds_and_the_result_equals_an_uninterrupted_run(tmp_path):
    ref = _reference(seed=7)
    out = tmp_path / "run"
    _crashed_run(out, seed=7, after=1)
    cmd = [sys.executable, "-m", "locallearn", "run", "--resume", str(out)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], [o[1][-2000:] for o in outs]
    loser = outs[[p.returncode for p in procs].index(2)][1]
    assert len(loser.strip().splitlines()) == 1, loser
    assert "another process" in loser and "pid" in loser
    res = results.load(out)
    assert res.metrics["status"] == "ok"
    np.testing.assert_array_equal(res.arrays["W_final"], ref.arrays["W_final"])
    np.testing.assert_array_equal(res.arrays["spike_steps"], ref.arrays["spike_steps"])
    assert not os.path.exists(lock_path(out))


# ---------------------------------------------------------------------------------------------
# checked checkpoints
# ---------------------------------------------------------------------------------------------
def test_truncated_latest_checkpoint_resumes_from_the_previous_intact_one(tmp_path, capfd):
    ref = _reference(seed=4)
    out = tmp_path / "run"
    _crashed_run(out, seed=4, after=2)
    ckpt = out / "checkpoints"
    _truncate(ckpt / "state.npz")  # the latest checkpoint: the state and segment 2's file
    _truncate(ckpt / "segment_00002.npz")
    seen = []
    res = resume_run(out, report=False, after_segment=lambda k, n: seen.append(k))
    err = capfd.readouterr().err
    assert "state.npz" in err and "after segment 2" in err
    assert seen[0] == 2  # segment 2 ran again from the state after segment 1
    np.testing.assert_array_equal(res.arrays["W_final"], ref.arrays["W_final"])
    np.testing.assert_array_equal(res.arrays["spike_steps"], ref.arrays["spike_steps"])
    assert results.load(out).metrics["status"] == "ok"


def _fake_checkpoints(ckpt, n):
    from locallearn.results import atomic_write_npz

    os.makedirs(ckpt)
    for k in range(n):
        atomic_write_npz(os.path.join(ckpt, f"segment_{k:05d}.npz"), __segment__=np.array(k),
                         **{"pops/net/x": np.arange(1000.0) + k,
                            "__state__/net/fast.w": np.full(50, float(k + 1))})
    atomic_write_npz(os.path.join(ckpt, "state.npz"), __segments_done__=np.array(n),
                     **{"net/fast.w": np.full(50, float(n))})


def test_checkpoint_verification_finds_damage_and_falls_back(tmp_path, capsys):
    ckpt = str(tmp_path / "a")
    _fake_checkpoints(ckpt, 3)
    done, state, raws = _load_checkpoints(ckpt)
    assert done == 3 and state["net/fast.w"][0] == 3.0 and capsys.readouterr().err == ""
    # a flipped byte inside segment 1's data: caught by the zip CRC, fall back to segment 1
    path = os.path.join(ckpt, "segment_00001.npz")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 3] ^= 0xFF
    open(path, "wb").write(bytes(data))
    done, state, raws = _load_checkpoints(ckpt)
    assert done == 1 and state["net/fast.w"][0] == 1.0 and raws == [None]
    err = capsys.readouterr().err
    assert "segment_00001.npz" in err and len(err.strip().splitlines()) == 1
    assert sorted(os.listdir(ckpt)) == ["segment_00000.npz", "state.npz"]  # later ones removed
    # a missing latest state: the segment files hold the state after them
    ckpt = str(tmp_path / "b")
    _fake_checkpoints(ckpt, 2)
    os.remove(os.path.join(ckpt, "state.npz"))
    done, state, _ = _load_checkpoints(ckpt)
    assert done == 2 and state["net/fast.w"][0] == 2.0
    # nothing intact: one line naming the damaged file
    ckpt = str(tmp_path / "c")
    _fake_checkpoints(ckpt, 2)
    _truncate(os.path.join(ckpt, "state.npz"))
    _truncate(os.path.join(ckpt, "segment_00000.npz"))
    with pytest.raises(ConfigError, match="state.npz") as info:
        _load_checkpoints(ckpt)
    assert "\n" not in str(info.value)


def test_resume_with_no_intact_checkpoint_exits_2_with_one_line(tmp_path):
    out = tmp_path / "run"
    _crashed_run(out, seed=2, after=0)
    ckpt = out / "checkpoints"
    _truncate(ckpt / "state.npz")
    _truncate(ckpt / "segment_00000.npz")
    proc = run_cli("run", "--resume", str(out))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(proc.stderr.strip().splitlines()) == 1 and "state.npz" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------------------------
# memory before the build
# ---------------------------------------------------------------------------------------------
def test_every_protocol_estimates_its_memory():
    for name in protocol_names():
        proto = get_protocol(name)
        need = memory.need_of(proto, make_config(proto, quick=True))
        assert need is not None and need.recorded > 0 and need.knobs, name
        assert memory.estimate(need) > memory.BASE_BYTES
    ae = get_protocol("autoencoder")
    small = memory.need_of(ae, make_config(ae, overrides=dict(N="100")))
    big = memory.need_of(ae, make_config(ae, overrides=dict(N="1000")))
    assert big.synapses == 100 * small.synapses == 1000 ** 2
    dyn = get_protocol("dynamics")
    need = memory.need_of(dyn, make_config(dyn, overrides=dict(N="100")))
    assert need.synapses == 3 * 2 * 100 ** 2  # learner and two references, fast and slow


def test_huge_network_is_refused_fast_and_nothing_is_written(tmp_path):
    out = tmp_path / "big"
    t0 = time.time()
    proc = run_cli("run", "autoencoder", "--set", "N=50000", "--out", str(out))
    assert time.time() - t0 < 10
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1 and "GB" in line and "limit" in line and "N" in line
    assert os.listdir(tmp_path) == []
    proc = run_cli("params", "autoencoder", "--set", "N=50000")
    assert proc.returncode == 0 and "memory estimate" in proc.stdout


def test_memory_limit_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALLEARN_MEMORY_LIMIT", str(10 ** 6))
    with pytest.raises(ConfigError, match="LOCALLEARN_MEMORY_LIMIT"):
        run_protocol("xor", quick=True, out=tmp_path / "x", report=False)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# faults while the final result is written
# ---------------------------------------------------------------------------------------------
SLOW_SAVE = r"""
import sys, time
import numpy as np
from locallearn import results
from locallearn.cli import main
where = sys.argv[1]
if where == "writing":
    orig = np.savez_compressed
    def slow(*a, **k):
        print("PAUSE", flush=True); time.sleep(120); return orig(*a, **k)
    np.savez_compressed = slow
else:
    orig = results._swap_into_place
    def slow(tmp, path):
        orig(tmp, path)
        print("PAUSE", flush=True); time.sleep(120)
    results._swap_into_place = slow
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("where,sig", [("writing", signal.SIGTERM), ("writing", signal.SIGKILL),
                                       ("swapped", signal.SIGKILL)],
                         ids=["SIGTERM-writing", "SIGKILL-writing", "SIGKILL-after-swap"])
def test_kill_while_the_final_result_is_written(tmp_path, where, sig):
    """Killed while writing the result: the run stays resumable (not a half-written result);
    killed once the result is in place: the complete result."""
    ref = _reference(seed=6)
    out = tmp_path / "run"
    sets = sum((["--set", f"{k}={v}"] for k, v in SEG.items()), [])
    p = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, where, "run", "autoencoder",
                          "--quick", "--seed", "6", *sets, "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        line = ""
        while line != "PAUSE":
            line = p.stdout.readline().strip()
            assert line or p.poll() is None, "the run ended before the pause"
        p.send_signal(sig)
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if where == "writing":
        assert not (out / "metrics.json").exists()  # does not look finished
        assert json.loads((out / "config.json").read_text())["status"] == "running"
        res = resume_run(out, report=False)
    else:
        res = results.load(out)
        assert res.metrics["status"] == "ok"
    np.testing.assert_array_equal(res.arrays["W_final"], ref.arrays["W_final"])
    np.testing.assert_array_equal(res.arrays["spike_steps"], ref.arrays["spike_steps"])
