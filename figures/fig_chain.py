"""Chain figure (GLE Fig. 5 analogue): a two-neuron chain learns to mimic its teacher.

A: weights w1, w2 against learning time for every method of the run (default GLE, VLE (ours) and
   instantaneous backprop; labels and colours from their definitions; dotted: the teacher's
   values). B: the same for the membrane time constants tau_m (learned).
C: squared output error against time, log scale (means over 5 input periods); the grey band is the
   test phase (frozen parameters, no nudging).
"""

import numpy as np

from locallearn.models.rate_rules import method_label

from .plot_utils import colour_of, panel_label, plt, save, style

NAME = "chain"
TITLE = "Teacher-student chain: GLE, VLE and instantaneous backprop (GLE Fig. 5 analogue)"


def runs(quick):
    """The protocol runs this figure needs."""
    from . import RunSpec

    return dict(chain=RunSpec("chain", quick=quick))


def draw(results, out_dir):
    """Draw the chain figure from a cached ``chain`` result; returns the PNG and PDF paths."""
    res = results["chain"]
    params, loss = res.tables["params"], res.tables["loss"]
    params = params[params.replica == 0]
    loss = loss[loss.replica == 0]
    m = res.metrics
    tw, tt = res.arrays["teacher_w"], res.arrays["teacher_tau_m"]
    t0 = float(str(res.config["t_init"]).split("*")[0])
    t1 = t0 + float(str(res.config["t_train"]).split("*")[0])
    methods = list(dict.fromkeys(params.method))
    with style():
        fig = plt.figure(figsize=(7.2, 2.6))
        gs = fig.add_gridspec(1, 3, wspace=0.45)
        ax_w, ax_t, ax_l = (fig.add_subplot(gs[0, k]) for k in range(3))
        for k, meth in enumerate(methods):
            p = params[params.method == meth]
            c = colour_of(meth, k)
            ax_w.plot(p.time, p.w1, color=c, lw=0.9, label=(
                f"{method_label(meth)}: max |w - w*| {m.get('w_error_' + meth, np.nan):.1e}, "
                f"final loss {m.get('final_loss_' + meth, np.nan):.0e}"))
            ax_w.plot(p.time, p.w2, color=c, lw=0.9, ls=(0, (4, 1.5)))
            ax_t.plot(p.time, p.tau1, color=c, lw=0.9)
            ax_t.plot(p.time, p.tau2, color=c, lw=0.9, ls=(0, (4, 1.5)))
            lc = loss[loss.method == meth]
            ax_l.plot(lc.time, np.maximum(lc.loss, 1e-16), color=c, lw=0.8)
        for ax, vals in ((ax_w, tw), (ax_t, tt)):
            for v in vals:
                ax.axhline(v, color="k", lw=0.6, ls=":")
            ax.set_xlabel("time (time units)")
        ax_w.set_ylabel("weight (solid w1, dashed w2)")
        ax_t.set_ylabel(r"$\tau_m$ (solid layer 1, dashed 2)")
        # one legend below the panels: no text over a curve, whatever the methods
        fig.legend(*ax_w.get_legend_handles_labels(), loc="upper center",
                   bbox_to_anchor=(0.5, -0.05), ncol=min(2, len(methods)), fontsize=6)
        ax_l.set_yscale("log")
        ax_l.axvspan(t1, ax_l.get_xlim()[1] if len(loss) else t1 + 1, color="0.9", lw=0)
        ax_l.axvline(t0, color="k", lw=0.5, ls=":")
        ax_l.set_xlabel("time (time units)")
        ax_l.set_ylabel(r"$(r_{out} - y^*)^2$")
        for ax, lab in zip((ax_w, ax_t, ax_l), "ABC"):
            panel_label(ax, lab)
        return save(fig, out_dir, NAME)
