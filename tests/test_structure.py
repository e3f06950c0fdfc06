"""The layout the design card fixes: short files and a one-way import graph
(models -> core only; analysis -> nothing of ours; figures and protocols never imported by models).
"""

import ast
import os

import pytest

from conftest import REPO

MAX_LINES = 450


def _py_files(folder):
    root = os.path.join(REPO, folder)
    return sorted(os.path.join(root, f) for f in os.listdir(root) if f.endswith(".py"))


def _imports(path):
    """Every module name imported by ``path`` (absolute, or relative resolved to 'locallearn.X')."""
    tree = ast.parse(open(path).read())
    pkg = {"models": "locallearn.models", "protocols": "locallearn.protocols",
           "analysis": "locallearn.analysis", "figures": "locallearn.figures",
           "locallearn": "locallearn"}[os.path.basename(os.path.dirname(path))]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
                out.add(f"{base}.{node.module}" if node.module else base)
            else:
                out.add(node.module)
    return out


@pytest.mark.parametrize("folder", ["models", "protocols", "figures"])
def test_files_are_short(folder):
    long = {os.path.basename(p): n for p in _py_files(folder)
            if (n := sum(1 for _ in open(p))) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_models_import_no_protocol_or_figure():
    for path in _py_files("models"):
        bad = {m for m in _imports(path)
               if m.startswith(("locallearn.protocols", "locallearn.figures"))}
        assert not bad, (os.path.basename(path), bad)


def test_analysis_imports_nothing_of_ours_and_no_brian2():
    for path in _py_files("analysis"):
        mods = _imports(path)
        ours = {m for m in mods if m.startswith("locallearn") and
                not m.startswith("locallearn.analysis")}
        assert not ours, (os.path.basename(path), ours)
        assert not any(m.startswith("brian2") for m in mods), os.path.basename(path)
