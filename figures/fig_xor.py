"""Temporal-XOR figure.

A: example held-out trials after learning: the two input pulses, the target in the response
   window (black) and the output of the run's first two methods (default VLE (ours) and GLE).
B: online accuracy (blocks of trials) against training time for every method of the run
   (default VLE, GLE, feedback alignment (VLE traces, random B) and instantaneous backprop);
   colour: error operator, line style: feedback kind (labels and colours from the registered
   definitions); the legend gives each method's accuracy on the held-out trials.
"""

import numpy as np

from locallearn import definitions
from locallearn.models.rate_rules import method_label, method_parts

from .plot_utils import COLORS, colour_of, panel_label, plt, save, style

NAME = "xor"
TITLE = "Temporal XOR: VLE, GLE, feedback alignment, instantaneous backprop"

LINESTYLES = ("-", (0, (4, 1.5)), ":", "-.")


def method_style(label, index=0):
    """Line colour (the operator's) and style (by feedback kind) of a method label."""
    op, fb = method_parts(label)
    k = definitions.names("feedback").index(fb.name)
    return dict(color=colour_of(op.name, index), ls=LINESTYLES[k % len(LINESTYLES)])


def runs(quick):
    """The protocol runs this figure needs."""
    from . import RunSpec

    return dict(xor=RunSpec("xor", quick=quick))


def draw(results, out_dir):
    """Draw the XOR figure from a cached ``xor`` result; returns the PNG and PDF paths."""
    res = results["xor"]
    m = res.metrics
    ex, curve = res.tables["examples"], res.tables["curve"]
    with style():
        fig = plt.figure(figsize=(7.2, 2.8))
        gs = fig.add_gridspec(2, 2, width_ratios=[1.6, 1], hspace=0.15, wspace=0.3)
        ax_x = fig.add_subplot(gs[0, 0])
        ax_o = fig.add_subplot(gs[1, 0], sharex=ax_x)
        ax_c = fig.add_subplot(gs[:, 1])
        test = ex[ex.phase == "test"]
        # one held-out trial of each sign combination, in order of appearance
        trials, seen = [], set()
        for j in sorted(test.trial.unique()):
            e = test[(test.trial == j) & (test.method == test.method.iloc[0])]
            combo = (float(np.sign(e.x1.sum())), float(np.sign(e.x2.sum())))
            if combo not in seen:
                seen.add(combo)
                trials.append(j)
        trials = sorted(trials)[:4]
        span = test.t.max() + test.t.diff().abs().min()
        shown = list(dict.fromkeys(test.method))[:2]
        for n, j in enumerate(trials):
            for meth in shown:
                e = test[(test.trial == j) & (test.method == meth)]
                if not len(e):
                    continue
                tt = e.t + n * span
                if meth == shown[0]:
                    ax_x.plot(tt, e.x1, color=COLORS["target"], lw=0.9,
                              label="channel 1" if n == 0 else None)
                    ax_x.plot(tt, e.x2, color=COLORS["output"], lw=0.9,
                              label="channel 2" if n == 0 else None)
                    ax_o.plot(tt, e.target, color="k", lw=2.0, alpha=0.5,
                              label="target" if n == 0 else None)
                ax_o.plot(tt, e.output, lw=0.9, label=method_label(meth) if n == 0 else None,
                          **method_style(meth, shown.index(meth)))
        ax_x.set_ylabel("input")
        ax_x.legend(loc="upper left", ncol=2, fontsize=6, bbox_to_anchor=(0, 1.25))
        plt.setp(ax_x.get_xticklabels(), visible=False)
        ax_o.set_ylabel("output")
        ax_o.set_xlabel("time in held-out trials (time units)")
        ax_o.legend(loc="upper left", ncol=3, fontsize=6, bbox_to_anchor=(0, -0.36))
        c0 = curve[curve.replica == 0]
        for k, meth in enumerate(c0.method.unique()):
            c = c0[c0.method == meth]
            ax_c.plot(c.time, c.accuracy, lw=1.0, **method_style(meth, k),
                      label=f"{method_label(meth)}: {m['accuracy_' + meth]:.2f}")
        ax_c.axhline(m["chance_level"], color="k", lw=0.5, ls=":")
        ax_c.set_ylim(0.3, 1.02)
        ax_c.set_xlabel("training time (time units)")
        ax_c.set_ylabel("accuracy (online, blocks)")
        ax_c.legend(loc="upper left", fontsize=6, title="held-out accuracy",
                    title_fontsize=6, bbox_to_anchor=(0, -0.2), alignment="left")
        panel_label(ax_x, "A")
        panel_label(ax_c, "B")
        return save(fig, out_dir, NAME)
