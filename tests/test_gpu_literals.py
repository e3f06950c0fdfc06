"""Every equation string in models/ is safe for GPU compilers (issue 12): no math function called
with an argument made only of integer literals (``sqrt(2)``: in CUDA device code the integer
overload is a host function, which nvcc refuses). Checked on the source, without nvcc, so it
runs on every machine; tests/test_gpu_build.py compiles the protocols where nvcc exists."""

import ast
import pathlib
import re

from conftest import REPO

FUNCTIONS = ("sqrt", "exp", "log", "log10", "sin", "cos", "tan", "tanh", "sinh", "cosh",
             "arcsin", "arccos", "arctan", "abs", "floor", "ceil", "sign", "clip")
#: a call whose whole argument is integers, operators and parentheses
INTEGER_CALL = re.compile(r"\b(%s)\(\s*([-+*/()\s\d]*\d[-+*/()\s\d]*)\)" % "|".join(FUNCTIONS))


def _equation_strings(path):
    """(line, text) of every string assigned in ``path`` (module level, class bodies,
    function bodies), without the ``#`` comments inside the strings; docstrings excluded."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docstrings):
            code = "\n".join(line.split("#", 1)[0] for line in node.value.splitlines())
            yield node.lineno, code


def test_the_pattern_finds_integer_arguments():
    assert INTEGER_CALL.search("dc/dt = sqrt(2)*sigma_c : hertz")
    assert INTEGER_CALL.search("x = exp(-(3 + 1)) : 1")
    assert not INTEGER_CALL.search("dc/dt = sqrt(2.0)*sigma_c + sqrt(2*lam)*xi : hertz")
    assert not INTEGER_CALL.search("y = tanh(u) : 1")


def test_no_integer_only_math_calls_in_model_equations():
    found = []
    for path in sorted(pathlib.Path(REPO, "models").glob("*.py")):
        for line, code in _equation_strings(path):
            for match in INTEGER_CALL.finditer(code):
                found.append(f"{path.name}:{line}: {match.group(0)}")
    assert not found, "integer-only arguments (write 2.0, not 2): " + "; ".join(found)
