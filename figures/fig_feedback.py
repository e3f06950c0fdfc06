"""Feedback comparison figure: transposed, random, Kolen-Pollack and PAL backward weights for GLE
and VLE on the teacher-student complex signal (``fourier_ts``; docs/vle.md §3).

Runs: ``fourier_ts`` with the eight methods OPERATOR/FEEDBACK, OPERATOR in (gle, vle), FEEDBACK
in (transpose, random, learned, pal); seed 1 at the quick size (``--quick``), seeds 1-3 at the
full size. Curves are means over the seeds (shaded: min to max where there are several).

A: angle between B and W^T (degrees; the larger of the two backward projections) over time;
   transposed feedback stays at 0 and is not drawn. B: cosine between each method's integrated
   local gradient estimate and the exact adjoint gradient on every probe window (mean over
   the seeds). C:
   teacher-student loss (log; 50-time-unit bins), which includes PAL's noise while it learns.
Colour: feedback kind; line style: error operator (from the registered definitions).
"""

import numpy as np

from locallearn import definitions
from locallearn.models.rate_rules import method_label, method_parts

from .plot_utils import colour_of, panel_label, plt, save, style

NAME = "feedback"
TITLE = "Backward weights: transposed, random, Kolen-Pollack and PAL, against the adjoint"

OPERATORS = ("gle", "vle")
FEEDBACKS = ("transpose", "random", "learned", "pal")
#: The methods of the comparison (labels as on the command line).
METHODS = tuple(op if fb == "transpose" else f"{op}/{fb}" for op in OPERATORS
                for fb in FEEDBACKS)
LINESTYLES = {"gle": (0, (4, 1.5)), "vle": "-"}


def runs(quick):
    """The protocol runs this figure needs: one seed (quick) or three (full)."""
    from . import RunSpec

    seeds = (1,) if quick else (1, 2, 3)
    return {f"seed{s}": RunSpec("fourier_ts", overrides=(("methods", ",".join(METHODS)),),
                                seed=s, quick=quick) for s in seeds}


def _style(label):
    op, fb = method_parts(label)
    j = definitions.names("feedback").index(fb.name)
    return dict(color=colour_of(fb.name, j, kinds=("feedback",)),
                ls=LINESTYLES.get(op.name, ":")), method_label(label)


def _band(ax, series, band=True, **kw):
    """Mean over seeds with a min-max band (``band``); ``series``: list of (x, y) arrays per
    seed."""
    n = min(len(y) for _, y in series)
    x = series[0][0][:n]
    ys = np.array([y[:n] for _, y in series])
    line, = ax.plot(x, ys.mean(0), lw=0.9, **kw)
    if band and len(series) > 1:
        ax.fill_between(x, ys.min(0), ys.max(0), color=kw.get("color"), alpha=0.15, lw=0)
    return line


def _loss_bins(lc, width):
    """Loss curve re-binned to ``width`` time units (x: bin centres)."""
    k = max(1, int(round(width / float(np.diff(lc.time.values[:2])[0]))))
    v = lc.loss.values
    nb = len(v) // k
    return (np.arange(nb) + 0.5) * width, v[:nb * k].reshape(nb, k).mean(1)


def draw(results, out_dir):
    """Draw the feedback figure from cached ``fourier_ts`` results (one per seed); returns the
    PNG and PDF paths."""
    res = [results[k] for k in sorted(results)]
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(7.2, 3.0), constrained_layout=True)
        ax_a, ax_b, ax_c = axes
        handles = []
        for label in METHODS:
            kw, name = _style(label)
            if not all(f"ts_final_loss_{label}" in r.metrics for r in res):
                continue
            if method_parts(label)[1].initial != "transpose":
                ang = [r.tables["angles"][r.tables["angles"].method == label]
                       .groupby("time").angle.max() for r in res]
                _band(ax_a, [(a.index.values, a.values) for a in ang], **kw)
            al = [r.tables["alignment"][r.tables["alignment"].method == label] for r in res]
            _band(ax_b, [(a.time.values, a.cosine.values) for a in al], band=False, **kw)
            lc = [r.tables["ts_loss"][r.tables["ts_loss"].method == label] for r in res]
            handles.append(_band(ax_c, [_loss_bins(c, 50.0) for c in lc], label=name, **kw))
        seeds = f"{len(res)} seed{'s' if len(res) > 1 else ''}"
        ax_a.set_ylabel(r"angle(B, W$^T$) (deg)")
        ax_a.set_ylim(bottom=0)
        ax_a.set_title(f"alignment of B ({seeds})", fontsize=7)
        ax_b.axhline(0, color="k", lw=0.5)
        ax_b.set_ylim(-1.05, 1.05)
        ax_b.set_ylabel("cosine to adjoint gradient")
        ax_b.set_title("probe windows (W frozen)", fontsize=7)
        ax_c.set_yscale("log")
        ax_c.set_ylabel("loss (teacher-student)")
        fig.legend(handles=handles, fontsize=6, ncol=4, loc="outside lower center")
        for ax, lab in zip(axes, "ABC"):
            ax.set_xlabel("time (time units)")
            panel_label(ax, lab)
        return save(fig, out_dir, NAME)
