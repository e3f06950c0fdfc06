"""Complex-signal figure: LE Fourier synthesis and the teacher-student task with transpose,
random and learned feedback.

Two runs: ``fourier`` (A, B) and ``fourier_ts`` (C-E).

A: LE network output against the sawtooth target, early in learning and in the test phase
   (beta = 0, frozen). B: LE mean squared error in 5 ms bins (log); grey: test phase.
C: teacher-student loss (log) for every method of the run; colour: feedback kind (transpose,
   random, learned (Kolen-Pollack)), line style: error operator (labels and colours from the
   registered definitions). D: cosine between each method's local gradient
   estimate and the exact adjoint gradient on every probe window. E: angle between B and W^T
   (the larger of the two backward projections).
"""

import numpy as np

from locallearn import definitions
from locallearn.models.rate_rules import method_label, method_parts

from .plot_utils import COLORS, colour_of, panel_label, plt, save, style

NAME = "fourier"
TITLE = "Complex signals: LE Fourier synthesis; feedback pathways aligned with the adjoint"


def runs(quick):
    """The protocol runs this figure needs."""
    from . import RunSpec

    return dict(fourier=RunSpec("fourier", quick=quick),
                fourier_ts=RunSpec("fourier_ts", quick=quick))


LINESTYLES = ("-", (0, (4, 1.5)), ":", "-.")


def _style(label):
    """(line style: colour of the feedback kind, dashes of the operator; legend text)."""
    op, fb = method_parts(label)
    k = definitions.names("error_operator").index(op.name)
    j = definitions.names("feedback").index(fb.name)
    return dict(color=colour_of(fb.name, j, kinds=("feedback",)),
                ls=LINESTYLES[k % len(LINESTYLES)]), method_label(label)


def draw(results, out_dir):
    """Draw the fourier figure from cached ``fourier`` and ``fourier_ts`` results; returns the
    PNG and PDF paths."""
    res, ts = results["fourier"], results["fourier_ts"]
    m = dict(ts.metrics, **res.metrics)
    with style():
        fig = plt.figure(figsize=(7.2, 5.0))
        gs = fig.add_gridspec(2, 6, hspace=0.55, wspace=1.6)
        ax_a1, ax_a2 = fig.add_subplot(gs[0, 0:2]), fig.add_subplot(gs[0, 2:4])
        ax_b = fig.add_subplot(gs[0, 4:6])
        ax_c, ax_d, ax_e = (fig.add_subplot(gs[1, 2 * k:2 * k + 2]) for k in range(3))
        if "le_trace" in res.tables:
            tr = res.tables["le_trace"]
            t_test = tr[tr.phase == "test"].time.min()
            for ax, (lo, hi), title in ((ax_a1, (0.0, 0.1), "LE, first 100 ms"),
                                        (ax_a2, (t_test, t_test + 0.1), "test phase (beta = 0)")):
                w = tr[(tr.time >= lo) & (tr.time < hi)]
                ax.plot(w.time * 1e3, w.target, color=COLORS["target"], lw=1.0, label="target")
                ax.plot(w.time * 1e3, w.output, color=COLORS["output"], lw=0.8, label="output")
                ax.set_xlabel("time (ms)")
                ax.set_title(title, fontsize=7)
            lo, hi = ax_a1.get_ylim()  # room below the traces for the legend
            ax_a1.set_ylim(lo - 0.3 * (hi - lo), hi)
            ax_a1.legend(loc="lower left", ncol=2)
            lc = res.tables["le_loss"]
            ax_b.plot(lc.time * 1e3, lc.mse, color="k", lw=0.8)
            ax_b.axvspan(t_test * 1e3, lc.time.max() * 1e3, color="0.9", lw=0)
            ax_b.set_yscale("log")
            ax_b.axhline(m["test_mse"], color=COLORS["output"], lw=0.6, ls=":")
            ax_b.set_xlabel("time (ms)")
            ax_b.set_ylabel("MSE (5 ms bins)")
            ax_b.set_title(f"test MSE {m['test_mse']:.4f} (target var. 1/3)", fontsize=7)
        empty = {"method": []}
        loss = ts.tables.get("ts_loss", empty)
        align, ang = ts.tables.get("alignment"), ts.tables.get("angles")
        for label in (loss.method.unique() if len(loss["method"]) else []):
            kw, name = _style(label)
            lc = loss[loss.method == label]
            ax_c.plot(lc.time, lc.loss, lw=0.8, label=name, **kw)
            a = align[align.method == label]
            ax_d.plot(a.time, a.cosine, lw=0.8, marker="o", ms=1.5, **kw)
            an = ang[ang.method == label].groupby("time").angle.max()
            if method_parts(label)[1].initial != "transpose":
                ax_e.plot(an.index, an.values, lw=0.8, **kw)
        ax_c.set_yscale("log")
        ax_c.set_xlabel("time (time units)")
        ax_c.set_ylabel("loss (teacher-student)")
        handles, labels = ax_c.get_legend_handles_labels()
        ax_e.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=5.5,
                    handlelength=2.5, title="colour: feedback; line: operator",
                    title_fontsize=5.5, alignment="left")
        ax_d.axhline(0, color="k", lw=0.5)
        ax_d.set_ylim(-1.05, 1.05)
        ax_d.set_xlabel("time (time units)")
        ax_d.set_ylabel("cosine to adjoint gradient")
        firsts = [k for k in (loss.method.unique() if len(loss["method"]) else []) if "/" not in k]
        ax_d.set_title(" ".join(f"{k}: {m.get('gradient_cosine_' + k, np.nan):.2f}"
                                for k in firsts[:2]), fontsize=7)
        ax_e.set_xlabel("time (time units)")
        ax_e.set_ylabel(r"angle(B, W$^T$) (deg)")
        ax_e.set_ylim(bottom=0)
        for ax, lab in zip((ax_a1, ax_b, ax_c, ax_d, ax_e), "ABCDE"):
            panel_label(ax, lab)
        return save(fig, out_dir, NAME)
