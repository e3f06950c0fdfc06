"""Helpers shared by every figure: style, colours, panel labels, saving PNG and PDF."""

import contextlib
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["STYLE", "COLORS", "style", "panel_label", "save", "plt", "colour_of"]

#: The one style file of the package's figures.
STYLE = os.path.join(os.path.dirname(__file__), "style.mplstyle")

#: Named colours used consistently across figures.
COLORS = dict(target="#1f4e9c", output="#c0392b", bd2015="#111111", event2012="#8c8c8c",
              hebbian2012="#c8a24a", gle="#1f4e9c", vle="#c0392b", instantaneous="#8c8c8c",
              adjoint="#2e8b57", transpose="#1f4e9c", random="#8c8c8c", learned="#c0392b",
              fixed="#7b3294", learned_fast="#2e8b57")


def colour_of(name, fallback_index=0,
              kinds=("error_operator", "feedback", "optimizer", "fast_rule", "slow_rule")):
    """Colour of the registered definition ``name`` (the first of ``kinds`` that has one, see
    `locallearn.definitions`), else colour ``fallback_index`` of the style's cycle."""
    from locallearn import definitions

    for kind in kinds:
        if name in definitions.names(kind) and definitions.get(kind, name).colour:
            return definitions.get(kind, name).colour
    return f"C{fallback_index % 10}"


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
