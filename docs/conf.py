"""Sphinx configuration of the locallearn documentation (``make docs``).

Pages are Markdown (MyST) and notebooks (myst-nb, shown without executing them: the test suite
runs them, tests/test_notebooks.py). ``_ext/locallearn_docgen.py`` generates the pages that come
from the code (equations, rules, protocols, command line) and the README fragments.
"""

import os
import sys

import locallearn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

project = "locallearn"
author = "the locallearn authors"
copyright = "2026, the locallearn authors"
release = locallearn.__version__
version = release

extensions = [
    "myst_nb",                 # Markdown pages (myst-parser) and notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",     # numpy-style "Parameters" / "Attributes" sections
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    "locallearn_docgen",
]

exclude_patterns = ["_build", "_ext", "generated", "examples", "figures", "**.ipynb_checkpoints"]
# README.md sections reused on the site: page -> [(README section slug, heading level there)]
locallearn_readme_pages = {
    "index": [("", 0)],
    "getting-started": [("set-up", 2), ("running-a-protocol", 2), ("layout", 2)],
    "models": [("swapping-an-equation", 2)],
    "plugins": [("write-your-own-rule", 0)],
    "results": [("results-directory", 0), ("long-runs-checkpoints-resume-divergence", 2)],
    "devices": [("devices-and-reproducibility", 0), ("genn", 2), ("gpu", 2)],
    "sweeps": [("sweeps", 0)],
    "measured": [("the-autoencoder-bourdoukan-denève-2015-fig-1", 2),
                 ("learning-a-linear-dynamical-system-bourdoukan-denève-2015-section-2", 2),
                 ("prospective-rate-networks-le-gle-vle", 2),
                 ("protocols-configurations-and-measured-numbers", 3),
                 ("mnist-1d-gles-benchmark-protocol-mnist1d", 3),
                 ("benchmarks", 2)],
}

# MyST
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# Notebooks are committed without outputs and run by the tests (tests/test_notebooks.py), so
# the site shows them as they are; LOCALLEARN_DOCS_EXECUTE=1 runs them during the build (at the
# size LOCALLEARN_TUTORIAL_QUICK selects) and shows their outputs and figures.
nb_execution_mode = "force" if os.environ.get("LOCALLEARN_DOCS_EXECUTE") == "1" else "off"
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_in_temp = True

# autodoc
default_role = "py:obj"          # `name` in docstrings is a cross-reference where it resolves
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "none"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

html_theme = "alabaster"
html_title = f"locallearn {release}"
html_static_path = []

# Docstrings of modules other work owns right now, whose plain-text markup (|x| for absolute
# values, lists without a blank line before them) docutils reads otherwise: the extension fixes
# the markup of these objects only, at build time (see _ext/locallearn_docgen.py).
locallearn_docstring_cleanup = ("locallearn.cli", "locallearn.protocols.chain")
