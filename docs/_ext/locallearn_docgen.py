"""Sphinx extension of the locallearn documentation: pages generated from the code.

At ``builder-inited`` it writes Markdown fragments under ``docs/generated/`` (not committed; the
pages include them), so what the site shows is what the package runs:

* ``models-spiking.md``, ``models-rate.md``: every equation string of
  `locallearn.models.spiking_model` and `locallearn.models.rate` (the module constants, with the
  ``#:`` comment above each), rendered three ways from the string itself: a table of its
  variables (unit, flags, the comment of the line), the equations as LaTeX (Brian2's parser and
  SymPy) and the exact string;
* ``rules-<kind>.md``: every registered definition of each kind (`locallearn.definitions`):
  doc, citation, parameters with defaults, units and ranges, and its strings;
* ``protocols.md``: per registered protocol, its module docstring (autodoc) and the output of
  ``python -m locallearn params NAME`` (every parameter, its default, unit and meaning);
* ``cli.md``: the ``--help`` of ``python -m locallearn`` and of each subcommand
  (`locallearn.cli.build_parser`);
* ``readme/<slug>.md``: the README's sections, one file per heading, with links rewritten for
  the site; ``README_PAGES`` in ``conf.py`` says which page includes which section at which
  heading level (the README stays the short entry point; the site reuses its text).

It also turns the free-form underlined headings of docstrings that napoleon does not know
("Headline metrics", "Commands", ...) into rubrics, which autodoc accepts inside a page.
"""

import contextlib
import dataclasses
import io
import os
import re

GENERATED = "generated"


# --------------------------------------------------------------------------------------------
# Equation strings
# --------------------------------------------------------------------------------------------
def _unit(dim):
    from brian2.units.fundamentalunits import get_unit

    if dim.is_dimensionless:
        return "1"
    return str(get_unit(dim))


def _latex_part(part):
    import sympy

    tex = sympy.latex(sympy.Symbol(part))
    return tex if len(part) == 1 or tex.startswith("\\") else r"\mathrm{" + part + "}"


def _latex_name(name):
    r"""``tau_m`` -> ``\tau_{m}``, ``drive_ff`` -> ``\mathrm{drive}_{\mathrm{ff}}``."""
    base, _, sub = name.partition("_")
    if not base:
        return r"\mathrm{" + name.replace("_", r"\_") + "}"
    tex = _latex_part(base)
    if sub:
        tex += "_{" + ",".join(_latex_part(p) for p in sub.split("_") if p) + "}"
    return tex


def _latex_expr(code):
    import sympy
    from brian2.parsing.sympytools import str_to_sympy

    expr = str_to_sympy(code)
    names = {s: _latex_name(s.name) for s in expr.free_symbols}
    return sympy.latex(expr, symbol_names=names)


def _cell(text):
    return text.replace("|", "\\|").strip() if text else ""


def _code(text):
    text = text.strip()
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def equations_fragment(text):
    """Markdown for one equation string: variables table, LaTeX, the exact string.

    Returns None when the string is not a Brian2 ``Equations`` text (statements, conditions)."""
    from brian2 import Equations

    try:
        Equations(text)
    except Exception:  # statements, thresholds, templates: shown as code only
        return None
    rows, maths = [], []
    for line in text.splitlines():
        code, _, comment = line.partition("#")
        if not code.strip():
            continue
        eq = list(Equations(code).values())[0]
        kind = {"differential equation": "ODE", "subexpression": "subexpression",
                "parameter": "variable"}.get(eq.type, eq.type)
        rows.append(f"| {_code(eq.varname)} | {kind} | {_code(_unit(eq.dim))} | "
                    f"{', '.join(eq.flags)} | {_cell(comment)} |")
        if eq.expr is not None:
            try:
                rhs = _latex_expr(eq.expr.code)
            except Exception:
                continue
            lhs = _latex_name(eq.varname)
            if eq.type == "differential equation":
                lhs = r"\frac{\mathrm{d}" + lhs + r"}{\mathrm{d}t}"
            maths.append(f"{lhs} &= {rhs}")
    out = ["| variable | kind | unit | flags | comment in the string |",
           "|---|---|---|---|---|", *rows, ""]
    if maths:
        out += ["```{math}", "\\begin{aligned}", " \\\\\n".join(maths), "\\end{aligned}", "```", ""]
    return "\n".join(out)


def string_fragment(text, title=None):
    """Markdown for any model string: the rendering (for equations) and the exact text."""
    parts = []
    if title:
        parts.append(title)
    rendered = equations_fragment(text)
    if rendered:
        parts.append(rendered)
    parts += ["```text", text.strip("\n"), "```", ""]
    return "\n".join(parts)


def _attr_docs(modname):
    from sphinx.pycode import ModuleAnalyzer

    docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
    return {name: " ".join(line.strip() for line in lines if line.strip())
            for (_, name), lines in docs.items()}


def module_strings_fragment(modname, names, level="###"):
    """One section per string constant ``names`` of ``modname``, with its ``#:`` doc."""
    import importlib

    mod = importlib.import_module(modname)
    docs = _attr_docs(modname)
    out = []
    for name in names:
        value = getattr(mod, name)
        out.append(f"{level} `{name}`\n")
        if docs.get(name):
            out.append(docs[name] + "\n")
        out.append(f"(`{modname}.{name}`)\n")
        out.append(string_fragment(value))
    return "\n".join(out)


def _string_constants(modname):
    import importlib

    mod = importlib.import_module(modname)
    return [n for n in getattr(mod, "__all__", []) if n.isupper()
            and isinstance(getattr(mod, n, None), str)]


# --------------------------------------------------------------------------------------------
# Definitions (rules)
# --------------------------------------------------------------------------------------------
def _value(v):
    if isinstance(v, str):
        return v
    return repr(v) if isinstance(v, (tuple, list, bool)) else str(v)


def _param_rows(params):
    rows = ["| parameter | default | unit | accepted | meaning |", "|---|---|---|---|---|"]
    for p in params:
        unit = "1" if p.unit is None else str(p.unit)
        check = p.check.describe("" if p.unit is None else unit) \
            if hasattr(p.check, "describe") else ""
        rows.append(f"| {_code(p.name)} | {_code(_value(p.default))} | {_code(unit)} | "
                    f"{_cell(check)} | {_cell(p.doc)} |")
    return "\n".join(rows) + "\n"


def definitions_fragment(kind, level="####"):
    """Every registered definition of ``kind``: doc, citation, parameters, strings."""
    from locallearn import definitions
    from locallearn.definitions import Definition

    base = {f.name for f in dataclasses.fields(Definition)}
    out = []
    for d in definitions.definitions(kind):
        out.append(f"{level} `{d.name}`: {d.display_label()}\n")
        cls = type(d)
        out.append(f"`{cls.__module__}.{cls.__name__}` (kind `{kind}`)"
                   + (f", colour `{d.colour}`" if d.colour else "") + "\n")
        if d.doc:
            out.append(_cell(d.doc) + "\n")
        if d.cite:
            out.append(f"Source: {d.cite}\n")
        if d.params:
            out.append(_param_rows(d.params))
        scalars = []
        for f in dataclasses.fields(d):
            if f.name in base:
                continue
            v = getattr(d, f.name)
            if isinstance(v, str) and ("\n" in v.strip() or any(c in v for c in "=:+*(")):
                out.append(f"`{f.name}`:\n")
                out.append(string_fragment(v))
            elif callable(v):
                scalars.append(f"`{f.name}` = `{getattr(v, '__qualname__', repr(v))}`")
            else:
                scalars.append(f"`{f.name}` = {_code(_value(v))}")
        if scalars:
            out.append("Fields: " + "; ".join(scalars) + "\n")
    return "\n".join(out)


def record_fragment(cls):
    """The fields of a model record (`locallearn.params.param` metadata): default, unit,
    accepted values, meaning. A string default that is a module constant is named."""
    import importlib

    mod = importlib.import_module(cls.__module__)
    constants = {v: k for k, v in vars(mod).items() if k.isupper() and isinstance(v, str)}
    rows = ["| field | default | unit | accepted | meaning |", "|---|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if "doc" not in meta:
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "")
        if isinstance(default, str) and default in constants:
            shown = f"`{constants[default]}` (above)"
        elif isinstance(default, str) and "\n" in default:
            shown = "(string)"
        else:
            shown = _code(_value(default)) if _value(default) != "" else "`''`"
        unit = "" if meta.get("unit") is None else str(meta["unit"])
        check = meta.get("check")
        accepted = check.describe(unit) if hasattr(check, "describe") else ""
        rows.append(f"| {_code(f.name)} | {shown} | {_code(unit) if unit else ''} | "
                    f"{_cell(accepted)} | {_cell(meta['doc'])} |")
    return "\n".join(rows) + "\n"


# --------------------------------------------------------------------------------------------
# Protocols and command line
# --------------------------------------------------------------------------------------------
def _stdout_of(argv):
    from locallearn import cli

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            cli.main(argv)
        except SystemExit:
            pass
    return buf.getvalue()


def protocols_fragment():
    from locallearn.protocol import get_protocol, protocol_names

    out = []
    for name in protocol_names():
        proto = get_protocol(name)
        modname = proto.prepare.__module__
        out.append(f"## `{name}`\n")
        out.append(f"{proto.doc}\n")
        out.append(f"```{{eval-rst}}\n.. automodule:: {modname}\n   :no-index:\n```\n")
        out.append(f"Parameters (`python -m locallearn params {name}`):\n")
        out.append("```text\n" + _stdout_of(["params", name]).rstrip() + "\n```\n")
    return "\n".join(out)


def cli_fragment():
    import argparse

    from locallearn.cli import build_parser

    os.environ["COLUMNS"] = "100"
    parser = build_parser()
    out = ["## `python -m locallearn --help`\n", "```text", parser.format_help().rstrip(),
           "```\n"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += [f"## `{name}`\n", "```text", sub.format_help().rstrip(), "```\n"]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# README sections
# --------------------------------------------------------------------------------------------
def _slug(title):
    s = re.sub(r"[^\w\s-]", "", title.strip().lower())
    return re.sub(r"\s+", "-", s)


def readme_sections(text):
    """{slug: (level, heading, body lines)} of every ``##``/``###`` heading; '' for the intro."""
    sections, current, fence = {}, "", False
    sections[""] = (1, "", [])
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        m = None if fence else re.match(r"^(#{1,3}) (.*)$", line)
        if m and len(m.group(1)) >= 2:
            current = _slug(m.group(2))
            sections[current] = (len(m.group(1)), m.group(2), [])
            continue
        if m:  # the title
            continue
        sections[current][2].append(line)
    return sections


def write_readme_fragments(srcdir, pages):
    """Write ``generated/readme/<slug>.md`` for each section used in ``pages``
    ({page: [(slug, level), ...]}), links rewritten for the site."""
    readme = os.path.join(os.path.dirname(srcdir), "README.md")
    with open(readme, encoding="utf-8") as fh:
        sections = readme_sections(fh.read())
    where = {slug: page for page, items in pages.items() for slug, _ in items}
    for items in pages.values():
        for slug, level in items:
            if slug not in sections:
                raise RuntimeError(f"conf.py README_PAGES: README.md has no section {slug!r} "
                                   f"(sections: {', '.join(s for s in sections if s)})")
            _, heading, body = sections[slug]
            text = "\n".join(body).strip("\n") + "\n"
            text = re.sub(r"\]\(docs/", "](", text)  # pages live in docs/
            # files at the repository's top level (LICENSE, CHANGELOG.md, ...) are not pages
            text = re.sub(r"\[([^\]]+)\]\((?!https?:|#)([\w.-]+)\)",
                          lambda m: f"`{m.group(2)}` (in the repository)"
                          if m.group(1) == m.group(2) else f"{m.group(1)} (`{m.group(2)}` in "
                          "the repository)", text)
            text = re.sub(r"\]\(#([\w-]+)\)",
                          lambda m: f"]({where[m.group(1)]}.md#{m.group(1)})"
                          if m.group(1) in where else m.group(0), text)
            head = f"{'#' * level} {heading}\n\n" if heading and level else ""
            _write(os.path.join(srcdir, GENERATED, "readme", f"{slug or 'intro'}.md"),
                   head + text)


# --------------------------------------------------------------------------------------------
# Sphinx hooks
# --------------------------------------------------------------------------------------------
def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return  # unchanged: Sphinx keeps its cached pages
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def generate(app):
    from locallearn.models import rate, rate_rules, spiking_model  # noqa: F401 (registers)

    src = app.srcdir
    gen = os.path.join(src, GENERATED)
    _write(os.path.join(gen, "models-spiking.md"), module_strings_fragment(
        "locallearn.models.spiking_model", _string_constants("locallearn.models.spiking_model")))
    _write(os.path.join(gen, "models-rate.md"), module_strings_fragment(
        "locallearn.models.rate", _string_constants("locallearn.models.rate")))
    _write(os.path.join(gen, "record-spiking.md"), record_fragment(spiking_model.SpikingModel))
    _write(os.path.join(gen, "record-rate.md"), record_fragment(rate.RateModel))
    m = rate.RateModel().resolved()
    _write(os.path.join(gen, "models-rate-composed.md"), "\n".join([
        f"### Forward synapse, composed (`operator={m.operator}`, `optimizer={m.optimizer}`)\n",
        string_fragment(m.forward_model),
        "### Backward synapse, composed from the forward one\n",
        string_fragment(m.backward_model)]))
    phi = ["| name | phi(u_p) | phi'(u_p) |", "|---|---|---|"]
    phi += [f"| `{k}` | `{a}` | `{b}` |" for k, (a, b) in rate_rules.PHI.items()]
    _write(os.path.join(gen, "models-phi.md"), "\n".join(phi) + "\n")
    for kind in ("fast_rule", "slow_rule", "error_operator", "feedback", "optimizer"):
        _write(os.path.join(gen, f"rules-{kind}.md"), definitions_fragment(kind))
    _write(os.path.join(gen, "protocols.md"), protocols_fragment())
    _write(os.path.join(gen, "cli.md"), cli_fragment())
    write_readme_fragments(src, app.config.locallearn_readme_pages)


def rubric_headings(app, what, name, obj, options, lines):
    """Underlined headings left in a docstring (after napoleon) become rubrics."""
    i = 0
    while i < len(lines) - 1:
        title, under = lines[i], lines[i + 1]
        if (title.strip() and re.fullmatch(r"\s*([-=~^])\1{2,}\s*", under)
                and len(under.strip()) >= len(title.strip()) - 2):
            indent = title[:len(title) - len(title.lstrip())]
            lines[i:i + 2] = [f"{indent}.. rubric:: {title.strip()}", ""]
        i += 1


def _escape_bars(line):
    parts = line.split("``")
    return "``".join(p.replace("|", "\\|") if k % 2 == 0 else p for k, p in enumerate(parts))


def cleanup_docstring(app, what, name, obj, options, lines):
    """For the objects named in ``locallearn_docstring_cleanup`` only (docstrings this branch
    does not edit): ``|x|`` is an absolute value, not a substitution, and a list or a definition
    list may follow a paragraph line without the blank line reStructuredText needs."""
    if name not in app.config.locallearn_docstring_cleanup:
        return
    out = []
    for i, line in enumerate(lines):
        prev = out[-1] if out else ""
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        indent = len(line) - len(line.lstrip())
        starts_item = line.lstrip().startswith(("* ", "- ")) or (
            line.strip() and len(nxt) - len(nxt.lstrip()) > indent and nxt.strip())
        prev_is_text = prev.strip() and not prev.lstrip().startswith(("* ", "- ")) \
            and len(prev) - len(prev.lstrip()) == indent
        if starts_item and prev_is_text:
            out.append("")
        out.append(_escape_bars(line))
    lines[:] = out


_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def short_signature(app, what, name, obj, options, signature, return_annotation):
    """Multi-line string defaults (the equation strings of the model records) are shown by the
    name of the module constant that holds them, or as ``'...'``."""
    import ast
    import sys

    if not signature or "\\n" not in signature:
        return None
    mod = sys.modules.get(getattr(obj, "__module__", ""), None)
    constants = {v: k for k, v in vars(mod).items() if k.isupper() and isinstance(v, str)} \
        if mod else {}

    def repl(m):
        if "\\n" not in m.group(0):
            return m.group(0)
        try:
            value = ast.literal_eval(m.group(0))
        except (ValueError, SyntaxError):
            return "'...'"
        return constants.get(value, "'...'")

    return _STRING.sub(repl, signature), return_annotation


def setup(app):
    app.add_config_value("locallearn_readme_pages", {}, "env")
    app.add_config_value("locallearn_docstring_cleanup", (), "env")
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-docstring", cleanup_docstring, priority=550)
    app.connect("autodoc-process-docstring", rubric_headings, priority=600)
    app.connect("autodoc-process-signature", short_signature)
    return dict(parallel_read_safe=True, parallel_write_safe=True)
