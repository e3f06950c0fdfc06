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


#: Source folder of each package of ours (setup.cfg, package_dir).
PACKAGES = {"locallearn": "locallearn", "locallearn.models": "models",
            "locallearn.protocols": "protocols", "locallearn.analysis": "analysis",
            "locallearn.figures": "figures"}


def _modules():
    """{module name: path} of every module of the installed package, subpackages included."""
    out = {}
    for pkg, folder in PACKAGES.items():
        root = os.path.join(REPO, folder)
        for dirpath, dirnames, files in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            rel = os.path.relpath(dirpath, root)
            if rel != "." and not os.path.isfile(os.path.join(dirpath, "__init__.py")):
                continue
            base = pkg if rel == "." else pkg + "." + rel.replace(os.sep, ".")
            if base in PACKAGES and base != pkg:
                continue  # a package of its own (models/ etc. are listed separately)
            for f in files:
                if f.endswith(".py"):
                    name = base if f == "__init__.py" else f"{base}.{f[:-3]}"
                    out[name] = os.path.join(dirpath, f)
    return out


def _import_edges(name, path, modules):
    """Modules of ours that ``name`` imports anywhere in its file (function-level included).
    ``from P import X`` counts as an import of ``P.X`` where that is a module, else of ``P``."""
    is_pkg = path.endswith("__init__.py")
    here = name if is_pkg else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(open(path).read())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                base = f"{parent}.{base}" if base else parent
            for a in node.names:
                targets.append(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base)
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            # a module's parent packages are imported first by Python's package mechanics (not
            # an edge of ours); a package importing its own submodules is
            if t and t != name and not name.startswith(t + "."):
                out.add(t)
    return out


def test_no_import_circle():
    """The package's import graph (every import statement, function-level ones included) has no
    circle: devices are registered modules that the runner reaches, never the other way."""
    modules = _modules()
    graph = {n: _import_edges(n, p, modules) for n, p in modules.items()}
    state, stack, circles = {}, [], []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                circles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert "locallearn.devices" in modules and "locallearn.protocol" in modules
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles[:5])
