"""Learning a linear dynamical system (Bourdoukan & Denève 2015, section 2).

A: target x (blue) and decoded output x_hat (red) before learning, during learning (with error
   feedback K) and at test (K = 0: the network generates x from the command alone), with rasters
   (fast weights learned together with the slow weights, the default).
B: open-loop error in the probe windows over learning time, fast weights learned and fixed
   (ablation), with the ideal-W_s and W_s = 0 references.
C: entries of M_hat = F^+ W_s F^+T against A + lambda I for both runs.
D: CV of ISI and Fano factor of the neurons after learning.
E: correlation of the feedforward and fast recurrent drive over learning (balance).
"""

import numpy as np

from .plot_utils import COLORS, panel_label, plt, save, style

NAME = "dynamics"
TITLE = "Supervised learning of a linear dynamical system (Bourdoukan & Deneve 2015, sec. 2)"

RUN_LABEL = dict(learned="fast weights learned", fixed="fast weights fixed (ablation)")
RUN_COLOR = dict(learned=COLORS["learned_fast"], fixed=COLORS["fixed"])


def runs(quick):
    """The protocol runs this figure needs."""
    from . import RunSpec

    return dict(learned=RunSpec("dynamics", quick=quick),
                fixed=RunSpec("dynamics", quick=quick, overrides=(("fast_rule", "fixed"),
                                                                   ("fast_model", ""),
                                                                   ("fast_on_pre", ""))))


def _trace_panel(ax_x, ax_r, res, phase, title):
    tr = res.tables["traces"]
    tr = tr[tr.phase == phase]
    ra = res.tables["raster"]
    ra = ra[ra.phase == phase]
    scale = 2.5 * float(np.std(res.tables["traces"].x))
    for k, ch in enumerate(sorted(tr.channel.unique())):
        sub = tr[tr.channel == ch]
        ax_x.plot(sub.time, sub.x + k * scale, color=COLORS["target"], lw=1.0,
                  label="target x" if k == 0 else None)
        ax_x.plot(sub.time, sub.xhat + k * scale, color=COLORS["output"], lw=0.8,
                  label="output x_hat" if k == 0 else None)
    ax_x.set_title(title)
    ax_x.set_yticks([])
    ax_r.scatter(ra.time, ra.neuron, s=1, color="k", marker="|", linewidths=0.5)
    ax_r.set_xlabel("time (s)")
    if len(tr):
        for ax in (ax_x, ax_r):
            ax.set_xlim(tr.time.min(), tr.time.max())


def draw(results, out_dir):
    """Draw the figure from the cached results; returns the PNG and PDF paths."""
    learned, fixed = results["learned"], results["fixed"]
    m = learned.metrics
    with style():
        fig = plt.figure(figsize=(7.4, 6.6))
        gs = fig.add_gridspec(4, 6, height_ratios=[1.1, 0.7, 1.4, 1.4], hspace=0.75,
                              wspace=1.1)
        titles = dict(before="before learning", learning="learning (feedback on)",
                      test=f"test, K = 0 (eps {m['test_eps']:.3f})")
        for k, phase in enumerate(("before", "learning", "test")):
            ax_x = fig.add_subplot(gs[0, 2 * k:2 * k + 2])
            ax_r = fig.add_subplot(gs[1, 2 * k:2 * k + 2])
            _trace_panel(ax_x, ax_r, learned, phase, titles[phase])
            if k == 0:
                panel_label(ax_x, "A")
                ax_r.set_ylabel("neuron")
            if k == 2:  # room above the traces, so the legend covers none of them
                lo, hi = ax_x.get_ylim()
                ax_x.set_ylim(lo, hi + 0.3 * (hi - lo))
                ax_x.legend(loc="upper right", fontsize=5.5, ncol=2)

        ax_b = fig.add_subplot(gs[2, 0:3])
        for key, res in (("learned", learned), ("fixed", fixed)):
            pr = res.tables["probes"]
            ax_b.plot(pr.time, pr.eps, "o-", color=RUN_COLOR[key], ms=2.5,
                      label=f"{RUN_LABEL[key]}: test eps {res.metrics['test_eps']:.4f}")
        ax_b.axhline(m["eps_ideal"], color="k", ls="--", lw=0.7,
                     label=f"ideal W_s*: {m['eps_ideal']:.4f}")
        ax_b.axhline(m["eps_zero"], color="k", ls=":", lw=0.7,
                     label=f"W_s = 0: {m['eps_zero']:.2f}")
        ax_b.set_yscale("log")
        ax_b.set_ylim(min(ax_b.get_ylim()[0], 1e-4) / 10, 3)
        ax_b.set_xlabel("learning time (s)")
        ax_b.set_ylabel("open-loop error eps")
        ax_b.legend(fontsize=5, loc="lower left", ncol=2)
        panel_label(ax_b, "B")

        ax_c = fig.add_subplot(gs[2, 4:6])
        target = learned.arrays["M_target"].ravel()
        for key, res in (("learned", learned), ("fixed", fixed)):
            ax_c.scatter(target, res.arrays["M_hat"].ravel(), s=18, color=RUN_COLOR[key],
                         alpha=0.8, label=f"fast {key}: distance "
                         f"{res.metrics['mhat_distance']:.3f}")
        lim = np.abs(target).max() * 1.15
        ax_c.plot([-lim, lim], [-lim, lim], color="k", lw=0.5)
        ax_c.set_xlabel(r"$A + \lambda I$ (Hz)")
        ax_c.set_ylabel("learned M (Hz)")
        ax_c.legend(fontsize=5.5, loc="lower right")
        panel_label(ax_c, "C")

        ax_d1 = fig.add_subplot(gs[3, 0:2])
        ax_d2 = fig.add_subplot(gs[3, 2:4])
        for key, res in (("learned", learned), ("fixed", fixed)):
            nt = res.tables["neurons"]
            ax_d1.hist(nt.cv_isi.dropna(), bins=12, range=(0, 3), histtype="step",
                       color=RUN_COLOR[key])
            ax_d2.hist(nt.fano_factor.dropna(), bins=12, range=(0, 3), histtype="step",
                       color=RUN_COLOR[key])
        ax_d1.set_xlabel("CV of ISI")
        ax_d1.set_ylabel("neurons")
        ax_d2.set_xlabel("Fano factor")
        panel_label(ax_d1, "D")

        ax_e = fig.add_subplot(gs[3, 4:6])
        for key, res in (("learned", learned), ("fixed", fixed)):
            bal = res.tables["balance"]
            ax_e.plot(bal.time, bal.balance_correlation, "o-", ms=2.5, color=RUN_COLOR[key])
        ax_e.axhline(-1, color="k", lw=0.5, ls=":")
        ax_e.set_ylim(-1.02, max(-0.5, ax_e.get_ylim()[1]))
        ax_e.set_xlabel("time (s)")
        ax_e.set_ylabel("corr(ff, recurrent)")
        panel_label(ax_e, "E")
        return save(fig, out_dir, NAME)
