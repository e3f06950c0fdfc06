"""Protocol mnist1d (issue 16): pipeline on a tiny configuration (fast), the quick acceptance
numbers (slow), the NumPy benchmark network against the standalone build."""

import json

import numpy as np
import pytest

pytest.importorskip("mnist1d")

from conftest import run_cli  # noqa: E402
from locallearn import results  # noqa: E402
from locallearn.errors import ConfigError  # noqa: E402
from locallearn.protocol import make_config, run_protocol  # noqa: E402

#: 40 training + 20 test sequences, 3 epochs, one hidden layer of 2 LE + 4 LI units, classes
#: spread evenly (in a random order the training loss of so few sequences follows the order:
#: seeds 3 and 5 rose from epoch 1 to 3; balanced, seeds 1-5 fell by 0.04-0.11).
TINY = dict(n_train="40", n_test="20", n_epochs="3", n_layers="1", n_le="2", n_li="4",
            train_order="balanced",
            **{"model.eta": "3e-3*Hz", "model.tau_adam1": "14.4*second",
               "model.tau_adam2": "1440*second"})


def test_tiny_run_tables_metrics_and_learning(tmp_path):
    """The pipeline end to end on cpp_standalone: per-epoch tidy table (one row per method and
    epoch), confusion counts summing to the test set, metrics keys in [0, 1], and learning
    lowers the training cross-entropy of every method from the first to the last epoch."""
    out = tmp_path / "mn"
    res = run_protocol("mnist1d", overrides=TINY, device="cpp_standalone", seed=3, out=str(out),
                       report=False)
    m = json.loads((out / "metrics.json").read_text())
    for meth in ("gle", "vle", "instantaneous"):
        assert 0.0 <= m[f"accuracy_{meth}"] <= 1.0
    assert m["accuracy"] == m["accuracy_gle"] and m["epochs"] == 3
    saved = results.load(out)
    ep = saved.tables["epochs"]
    assert list(ep.columns) == ["method", "epoch", "train_loss", "train_accuracy", "test_loss",
                                "test_accuracy", "eta_hz"]
    assert len(ep) == 9 and sorted(ep.epoch.unique()) == [1, 2, 3]
    np.testing.assert_allclose(ep[ep.method == "gle"].eta_hz, 3e-3 * 0.9 ** np.arange(3))
    conf = saved.tables["confusion"]
    assert conf.groupby("method")["count"].sum().tolist() == [20, 20, 20]
    for meth in ("gle", "vle", "instantaneous"):
        e = ep[ep.method == meth].sort_values("epoch")
        assert e.train_loss.iloc[-1] < e.train_loss.iloc[0] - 0.02, (meth, e.train_loss.tolist())
        assert np.all(np.isfinite(e.test_loss))
    assert res.metrics["epoch_wall_s"] > 0
    assert not (out / "checkpoints").exists()  # cleared after a completed run


def test_bad_input_is_a_config_error():
    """Odd LI counts and dt not dividing point_len fail before anything is built."""
    with pytest.raises(ConfigError, match="n_li"):
        make_config("mnist1d", overrides=dict(n_li="5"))
    with pytest.raises(ConfigError, match="point_len"):
        make_config("mnist1d", overrides=dict(point_len="0.3*second"))


def test_balanced_order_and_validation_split():
    """``train_order = balanced``: a permutation in which every 40 consecutive sequences hold
    each class 3-5 times (uniform 4); ``eval_set = validation``: the frozen sequences are the
    last n_test training sequences, never among the trained ones; too many is a ConfigError."""
    from locallearn.protocols import mnist1d as M

    labels = np.repeat(np.arange(10), 40)
    labels[:25] = 3  # uneven class counts
    order = M.balanced_order(labels, np.random.default_rng(0))
    assert sorted(order) == list(range(len(labels)))
    counts = np.array([np.bincount(labels[order[i:i + 40]], minlength=10)
                       for i in range(0, 400, 40)])
    frac = np.bincount(labels, minlength=10) / len(labels)
    assert np.all(np.abs(counts - 40 * frac) <= 1.5), counts
    shuffled = labels[np.random.default_rng(0).permutation(400)]
    assert np.abs(np.array([np.bincount(shuffled[i:i + 40], minlength=10)
                            for i in range(0, 400, 40)]) - 40 * frac).max() > 1.5
    cfg = make_config("mnist1d", overrides=dict(n_train="30", n_test="10", n_epochs="2",
                                                eval_set="validation", train_order="balanced"))
    plan = M.prepare(cfg, 1)
    d = M.mnist1d_data.load(cfg.data_seed)
    np.testing.assert_array_equal(plan.labels[30:], d["y"][-10:])
    np.testing.assert_allclose(plan.seqs[:, 30:].T, M.mnist1d_data.upsample(d["x"][-10:], 72))
    assert all(sorted(o[:30]) == list(range(30)) for o in plan.order.astype(int))
    with pytest.raises(ConfigError, match="n_test"):
        make_config("mnist1d", overrides=dict(n_train="3500", n_test="501",
                                              eval_set="validation"))


def test_initial_weights_depend_on_the_seed_only():
    """The initial weights come from their own random stream: changing the number of epochs,
    the training set or the class order leaves them unchanged (so settings compared on one seed
    start from the same network), while another seed changes them."""
    from locallearn.protocols import mnist1d as M

    def weights(seed, **over):
        cfg = make_config("mnist1d", overrides=dict(n_layers="2", n_le="2", n_li="4", **over))
        return M.prepare(cfg, seed).groups[0].replicas[0].W

    base = weights(1, n_epochs="2", n_train="30", n_test="10")
    for other in (weights(1, n_epochs="9", n_train="30", n_test="10"),
                  weights(1, n_epochs="2", n_train="50", n_test="10", train_order="balanced")):
        for a, b in zip(base[1:], other[1:]):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(base[2], weights(2, n_epochs="2", n_train="30", n_test="10")[2])


def test_numpy_benchmark_network_steps():
    """The benchmark's NumPy network (bench/mnist1d_numpy.py) runs the protocol's scheme: finite
    outputs, and weights change only while learning."""
    import sys

    from conftest import REPO

    sys.path.insert(0, REPO)
    from bench.mnist1d_numpy import NumpyGLE

    net = NumpyGLE([1, 4, 10], ["linear", "linear"], [np.full(4, 1.2), np.ones(10)],
                   [np.full(4, 0.2), np.ones(10)], 0.2, 1e-3, 14.4, 1440.0)
    W0 = net.W[2].copy()
    for k in range(50):
        net.step(np.sin(k / 5), 3, learn=False)
    assert np.array_equal(W0, net.W[2])
    for k in range(50):
        out = net.step(np.sin(k / 5), 3, learn=True)
    assert np.all(np.isfinite(out)) and not np.array_equal(W0, net.W[2])


@pytest.mark.slow
def test_quick_acceptance(tmp_path):
    """Issue 16: in the quick configuration (seed 1) GLE reaches test accuracy >= 0.4 on all 1000
    test sequences after the last epoch and at least 0.1 above instantaneous backprop (about
    11 minutes here; measured: GLE 0.473, instantaneous 0.291)."""
    out = tmp_path / "q"
    proc = run_cli("run", "mnist1d", "--quick", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["accuracy_gle"] >= 0.4, m
    assert m["accuracy_gle"] >= m["accuracy_instantaneous"] + 0.1, m
    assert m["eval_set"] == "test"


def test_brian2_network_matches_the_numpy_scheme():
    """The Brian2 network (numpy runtime, GLE, learning on) and the benchmark's NumPy
    implementation of the discrete scheme give the same output at every step (to 1e-12) over
    four sequences (three learning, one frozen)."""
    import sys

    from brian2 import Network, StateMonitor, second
    from conftest import REPO
    from locallearn import devices
    from locallearn.protocols import mnist1d as M

    sys.path.insert(0, REPO)
    from bench.mnist1d_numpy import NumpyGLE

    cfg = make_config("mnist1d", overrides=dict(
        methods="gle", n_train="3", n_test="1", n_epochs="1", n_layers="2", n_le="2",
        n_li="2", **{"model.eta": "1e-2*Hz", "model.tau_adam1": "14.4*second",
                     "model.tau_adam2": "1440*second"}))
    plan = M.prepare(cfg, 1)
    rep = plan.groups[0].replicas[0]
    with devices.session("numpy"):
        built = M.build(cfg, plan)
        out = list(built.groups.values())[0].layers[-1]
        mon = StateMonitor(out, "r_s", record=True, when="end")
        for view, v in M.run_args(cfg, plan, built, None, 0.0).items():
            view[:] = v
        Network(*built.objects, mon).run(plan.epoch_len * second, namespace={})
        r_brian = np.asarray(mon.r_s_).T
    net = NumpyGLE(plan.sizes, ["linear", "tanh", "linear"], rep.tau_m[1:], rep.tau_r[1:],
                   plan.dt, 1e-2, 14.4, 1440.0, W=rep.W, b=rep.b)
    r_np = []
    for j, col in enumerate(plan.order[0].astype(int)):
        for x in plan.seqs[:, col]:
            for _ in range(plan.steps_per_point):
                r_np.append(net.step(x, plan.labels[col], learn=j < cfg.n_train).copy())
    assert r_brian.shape == (4 * 360, 10)
    np.testing.assert_allclose(r_brian, np.array(r_np), atol=1e-12)
    assert np.abs(r_brian).max() > 0.5  # not trivially zero


def test_figure_is_registered_but_on_demand():
    """The mnist1d figure is registered (``figures mnist1d``) but not in the default list that
    ``make figures`` draws (its quick run alone takes minutes)."""
    from locallearn.figures import FIGURES, default_names

    assert "mnist1d" in FIGURES and "mnist1d" not in default_names()
    assert {"chain", "xor"} <= set(default_names())
