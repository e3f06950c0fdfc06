"""Helpers shared by every figure: style, colours, panel labels, saving PNG and PDF."""

import contextlib
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from locallearn.models.spiking_rules import FALLBACK_COLOURS  # noqa: E402

__all__ = ["STYLE", "COLORS", "FALLBACK", "colour_of", "style", "panel_label", "save", "plt"]

#: The one style file of the package's figures.
STYLE = os.path.join(os.path.dirname(__file__), "style.mplstyle")

#: Named colours used consistently across figures. Rules carry their own colours (their
#: definitions); these are the figures' other elements.
COLORS = dict(target="#1f4e9c", output="#c0392b", gle="#1f4e9c", vle="#c0392b",
              instantaneous="#8c8c8c", adjoint="#2e8b57", transpose="#1f4e9c", random="#8c8c8c",
              learned="#c0392b", fixed="#7b3294", learned_fast="#2e8b57")


#: Colours for names that have none (plugin rules without a colour), in order.
FALLBACK = FALLBACK_COLOURS


def colour_of(name, fallback_index=0, given=None,
              kinds=("error_operator", "feedback", "optimizer", "fast_rule", "slow_rule")):
    """The colour of ``name``: ``given`` if set (e.g. a colour a run recorded), else the colour
    of the registered definition ``name`` (the first of ``kinds`` that has one, see
    `locallearn.definitions`), else `COLORS`, else fallback colour ``fallback_index``; never a
    KeyError for an unknown name."""
    from locallearn import definitions

    if isinstance(given, str) and given:
        return given
    for kind in kinds:
        if name in definitions.names(kind) and definitions.get(kind, name).colour:
            return definitions.get(kind, name).colour
    return COLORS.get(name) or FALLBACK[fallback_index % len(FALLBACK)]


@contextlib.contextmanager
def style():
    """Context in which matplotlib uses the package style."""
    with plt.style.context(STYLE):
        yield


def panel_label(ax, label):
    """Bold panel letter at the top left of ``ax``."""
    ax.text(-0.12, 1.05, label, transform=ax.transAxes, fontsize=10, fontweight="bold",
            va="bottom", ha="right")


def save(fig, out_dir, name):
    """Write ``name.png`` and ``name.pdf`` into ``out_dir``; returns the two paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = os.path.join(out_dir, f"{name}.{ext}")
        fig.savefig(path)
        paths.append(path)
    plt.close(fig)
    return paths
