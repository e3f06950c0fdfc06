"""MNIST-1D figure (protocol ``mnist1d``).

A: test accuracy (1000 held-out sequences, weights frozen) after every epoch, per method (GLE,
   VLE (ours), instantaneous backprop), with chance level and the paper's batched GLE result
   (91.7 %, 150 epochs, batch 100) for reference.
B: confusion matrix of the run's headline method (default GLE) after the last epoch (rows: true
   class, columns: predicted class; fraction of each row).

Not part of ``make figures``: even the quick run takes about 11 minutes on 2 cores
(``ON_DEMAND``); draw it with ``python -m locallearn figures mnist1d [--quick]``.
"""

import numpy as np

from locallearn.models.rate_rules import method_label

from .fig_xor import method_style
from .plot_utils import panel_label, plt, save, style

NAME = "mnist1d"
TITLE = "MNIST-1D: GLE, VLE and instantaneous backprop, single stream"
#: Left out of the default figure list (the quick run alone takes minutes).
ON_DEMAND = True
#: GLE's published test accuracy (batch 100, 150 epochs; docs/latent-equilibrium.md §8).
PAPER_GLE = 0.917


def runs(quick):
    """The protocol runs this figure needs."""
    from . import RunSpec

    return dict(mnist1d=RunSpec("mnist1d", quick=quick))


def draw(results, out_dir):
    """Draw the MNIST-1D figure from a cached ``mnist1d`` result; returns the PNG and PDF
    paths."""
    res = results["mnist1d"]
    m = res.metrics
    ep, conf = res.tables["epochs"], res.tables["confusion"]
    with style():
        fig, (ax_a, ax_c) = plt.subplots(1, 2, figsize=(7.2, 2.9),
                                         gridspec_kw=dict(width_ratios=[1.4, 1], wspace=0.35))
        for k, meth in enumerate(ep.method.unique()):
            e = ep[ep.method == meth]
            ax_a.plot(e.epoch, e.test_accuracy, marker="o", ms=2.5, lw=1.0,
                      label=f"{method_label(meth)}: {m['accuracy_' + meth]:.2f}",
                      **method_style(meth, k))
        ax_a.axhline(m["chance_level"], color="k", lw=0.5, ls=":", label="chance")
        ax_a.axhline(PAPER_GLE, color="k", lw=0.5, ls="--", label="GLE paper (batch 100)")
        ax_a.set_ylim(0, 1)
        ax_a.set_xlabel("epoch")
        ax_a.set_ylabel("test accuracy (weights frozen)")
        ax_a.legend(loc="upper left", fontsize=6, title="last epoch", title_fontsize=6)
        c = conf[conf.method == m["method"]]
        cm = np.zeros((10, 10))
        cm[c["true"].to_numpy(int), c["predicted"].to_numpy(int)] = c["count"].to_numpy(float)
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        im = ax_c.imshow(cm, cmap="Blues", vmin=0, vmax=1)
        ax_c.set_xticks(range(10))
        ax_c.set_yticks(range(10))
        ax_c.set_xlabel("predicted class")
        ax_c.set_ylabel("true class")
        ax_c.set_title(f"{method_label(m['method'])}, epoch {m['epochs']}", fontsize=7)
        fig.colorbar(im, ax=ax_c, fraction=0.046, pad=0.04, label="fraction of row")
        panel_label(ax_a, "A")
        panel_label(ax_c, "B")
        return save(fig, out_dir, NAME)
