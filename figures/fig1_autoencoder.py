"""Fig. 1 of Bourdoukan & Denève (2015): the autoencoder learns E/I balance.

C: input x (blue) and decoded output x_hat (red) before and after learning, with rasters.
D: recurrent input of each neuron against the network output projected on its feedforward
   weights, -F_i . x_hat (x_hat = F^T r), with the least-squares line (slope = learned scale s).
E: scale-invariant distance of the fast weights to their target during learning, for every rule
   compared (protocol ``fastrules``: the 2015 rule, the two 2012 rules, plugin and anonymous
   rules), each at its best stable learning rate; the legend gives each rule's time to distance
   0.05 and its ratio to the reference rule. Labels and colours come from the rule definitions
   (through the run's ``summary`` table), so a new rule needs no change here.
"""

import numpy as np

from .plot_utils import COLORS, colour_of, panel_label, plt, save, style

NAME = "fig1"
TITLE = "Autoencoder learns E/I balance (Bourdoukan & Deneve 2015, Fig. 1C-E)"

def runs(quick):
    """The protocol runs this figure needs."""
    from . import RunSpec

    return dict(auto=RunSpec("autoencoder", quick=quick),
                rules=RunSpec("fastrules", quick=quick))


def _traces(ax_x, ax_r, res, phase, N):
    tr = res.tables["traces"]
    tr = tr[tr.phase == phase]
    for ch, off in zip(sorted(tr.channel.unique()), (0, 1)):
        sub = tr[tr.channel == ch]
        shift = off * 2.5 * float(np.std(tr.x))
        ax_x.plot(sub.time, sub.x + shift, color=COLORS["target"], lw=1.0,
                  label="input x" if off == 0 else None)
        ax_x.plot(sub.time, sub.xhat + shift, color=COLORS["output"], lw=0.8,
                  label="output x_hat" if off == 0 else None)
    ax_x.set_yticks([])
    ra = res.tables["raster"]
    ra = ra[ra.phase == phase]
    ax_r.scatter(ra.time, ra.neuron, s=1.5, color="k", marker="|", linewidths=0.6)
    ax_r.set_ylim(-0.5, N - 0.5)
    ax_r.set_xlabel("time (s)")
    if len(tr):
        ax_x.set_xlim(tr.time.min(), tr.time.max())
        ax_r.set_xlim(tr.time.min(), tr.time.max())


def draw(results, out_dir):
    """Draw Fig. 1C-E from the cached results; returns the PNG and PDF paths."""
    auto, rules = results["auto"], results["rules"]
    N = int(auto.arrays["F"].shape[0])
    m = auto.metrics
    with style():
        fig = plt.figure(figsize=(7.2, 5.0))
        gs = fig.add_gridspec(3, 4, height_ratios=[1.2, 0.8, 1.6], hspace=0.55, wspace=0.9)
        ax_bx, ax_ax = fig.add_subplot(gs[0, 0:2]), fig.add_subplot(gs[0, 2:4])
        ax_br, ax_ar = fig.add_subplot(gs[1, 0:2]), fig.add_subplot(gs[1, 2:4])
        _traces(ax_bx, ax_br, auto, "before", N)
        _traces(ax_ax, ax_ar, auto, "after", N)
        ax_bx.set_title("before learning")
        ax_ax.set_title(f"after learning (NRMSE {m['decoding_nrmse']:.3f})")
        lo, hi = ax_ax.get_ylim()
        ax_ax.set_ylim(lo, hi + 0.25 * (hi - lo))  # room for the legend above the traces
        ax_ax.legend(loc="upper right", ncol=2)
        ax_br.set_ylabel("neuron")
        panel_label(ax_bx, "C")

        ax_d = fig.add_subplot(gs[2, 0:2])
        sc = auto.tables["scatter"]
        ax_d.scatter(sc.projected_output, sc.recurrent_input, s=0.5, alpha=0.3,
                     color=COLORS["target"], rasterized=True)
        lo, hi = np.percentile(sc.projected_output, [0.5, 99.5])
        xs = np.linspace(lo, hi, 10)
        ax_d.plot(xs, m["fig1d_slope"] * xs, color=COLORS["output"],
                  label=f"slope {m['fig1d_slope']:.2f}, R$^2$ {m['fig1d_r2']:.3f}")
        ax_d.set_xlabel(r"projected output $-F_i\cdot\hat{x}$")
        ax_d.set_ylabel(r"recurrent input $(W r)_i$")
        ax_d.legend(loc="upper left")
        panel_label(ax_d, "D")

        ax_e = fig.add_subplot(gs[2, 2:4])
        curves, summary = rules.tables["curves"], rules.tables["summary"]
        rm = rules.metrics
        ref = rules.config.get("reference_rule", "bd2015")
        for k, (_, row) in enumerate(summary[summary.best].iterrows()):
            c = curves[curves.population == row.population]
            t = rm.get(f"time_to_threshold_{row.rule}_s", np.nan)
            label = f"{row.get('label', row.rule)}, {row.get('rate_param', 'rate')}={row.rate:g}: "
            label += f"{t:.1f} s" if np.isfinite(t) else "not reached"
            ratio = rm.get(f"speed_ratio_{row.rule}")
            if ratio is not None and np.isfinite(ratio):
                label += f" ({ratio:.2f}x {ref})"
            ax_e.plot(c.time, c.distance, color=colour_of(row.rule, k, given=row.get("colour")),
                      label=label)
        ax_e.axhline(0.05, color="k", lw=0.5, ls=":")
        ax_e.set_yscale("log")
        ax_e.set_xlabel("learning time (s)")
        ax_e.set_ylabel("weight distance to target")
        # below the panel, so that no text sits on a curve whatever the rules compared
        ax_e.legend(loc="upper left", bbox_to_anchor=(-0.2, -0.28), fontsize=5.5,
                    title="best stable rate: time to distance 0.05", title_fontsize=5.5,
                    alignment="left")
        panel_label(ax_e, "E")
        return save(fig, out_dir, NAME)
