"""Rule and model definitions: one record owns everything about a rule.

A *definition* is a small frozen dataclass that holds a rule's Brian2 strings, its own
parameters (`Param`: name, default, unit, accepted range, doc), what it must record, its reference
quantities, its label and colour, and, for comparisons, its learning-rate grid. Built-in rules
live in ``locallearn.models``; protocols, figures, sweeps and benchmarks look them up here by
kind and name and loop over what is registered, never over hard-wired names.

A user's rules come from a plugin file (``--plugin FILE.py`` on the command line,
`load_plugin` in Python). The file builds definitions with the same classes as the built-in ones;
every definition found at its top level is registered, after which its name works wherever a
built-in name does (``--set fast_rule=NAME``, Fig. 1E, sweeps)::

    from locallearn.models.spiking_rules import FastRule
    from locallearn.definitions import Param

    halfreset = FastRule(
        name="halfreset", label="2015 rule, half reset",
        model="w : 1",
        on_pre="w = w - eta_f_post*plastic_post*(V_post + gamma_post*w)\\nV_post += w",
        params=(Param("eta_f", 0.01, "learning rate, dimensionless"),
                Param("gamma", 1.0, "regulariser, dimensionless")),
        rate_param="eta_f", rates=(0.01, 0.02, 0.04), quick_rates=(0.02, 0.04))

Loaded plugins are remembered in the environment variable ``LOCALLEARN_PLUGINS`` (absolute
paths), so worker processes (figure jobs, sweeps, the GeNN worker) load the same files.
"""

import dataclasses
import hashlib
import importlib.util
import os

from .errors import ConfigError

__all__ = ["Param", "Definition", "register", "get", "names", "definitions", "load_plugin",
           "loaded_plugins", "plugin_provenance", "PLUGIN_ENV", "declared_params", "RegisteredName",
           "load_env_plugins", "identifiers", "file_sha256"]

#: Environment variable listing the loaded plugin files (os.pathsep-separated).
PLUGIN_ENV = "LOCALLEARN_PLUGINS"

_REGISTRY = {}   # kind -> {name: definition}
_PLUGINS = []    # absolute paths, in load order


@dataclasses.dataclass(frozen=True)
class Param:
    """A parameter a definition owns.

    ``unit`` is a Brian2 unit (``Hz``) or None for dimensionless numbers; ``check`` a
    `locallearn.params.Range` (compared in ``unit``); ``default`` a quantity when ``unit`` is
    given, else a float.
    """

    name: str
    default: object
    doc: str
    unit: object = None
    check: object = None

    def meta(self):
        """The field metadata `locallearn.params` uses for parsing and validation."""
        kind = "quantity" if self.unit is not None else "float"
        return dict(doc=self.doc, unit=self.unit, check=self.check, shape=None, kind=kind,
                    default=self.default)

    def brian_unit(self):
        """The unit as Brian2 equations write it (``1`` when dimensionless)."""
        if self.unit is None or self.unit.dim.is_dimensionless:
            return "1"
        return self.unit.dim._str_representation(python_code=True)


@dataclasses.dataclass(frozen=True)
class Definition:
    """Base of every definition: name, label, colour, citation, parameters.

    Subclasses set the class attribute ``KIND`` (``fast_rule``, ``slow_rule``,
    ``error_operator``, ``feedback``, ``optimizer``) under which they are registered.
    """

    KIND = "definition"

    name: str
    label: str = ""
    doc: str = ""
    cite: str = ""
    colour: str = ""
    params: tuple = ()

    def display_label(self):
        """The label for legends (the name when no label is given)."""
        return self.label or self.name

    def param(self, name):
        """The `Param` called ``name``; KeyError if the definition has none."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


def identifiers(*strings):
    """The set of identifiers that Brian2 code or equation ``strings`` use (comments ignored;
    a lookup, never a rewrite of the text)."""
    from brian2.utils.stringtools import get_identifiers

    out = set()
    for text in strings:
        for line in str(text).splitlines():
            out |= set(get_identifiers(line.split("#")[0].replace(":", " ")))
    return out


def _same_param(a, b):
    return (a.unit is None) == (b.unit is None) and (a.unit is None or a.unit.dim == b.unit.dim)


def register(defn):
    """Register ``defn`` under its kind; returns it. Re-registering the same name replaces the
    earlier definition (a plugin may redefine its own rule). A parameter name that another
    definition of the same kind declares with other dimensions is refused (`ConfigError`)."""
    kind = type(defn).KIND
    if not defn.name or not defn.name.replace("_", "a").isalnum() or defn.name[0].isdigit():
        raise ConfigError(kind, f"a definition's name must be an identifier, got {defn.name!r}")
    table = _REGISTRY.setdefault(kind, {})
    for other in table.values():
        if other.name == defn.name:
            continue
        for p in defn.params:
            for q in other.params:
                if p.name == q.name and not _same_param(p, q):
                    raise ConfigError(p.name, f"{kind} {defn.name!r} declares it with other "
                                      f"units than {other.name!r}")
    table[defn.name] = defn
    return defn


def get(kind, name):
    """The definition ``name`` of ``kind``; `ConfigError` naming the accepted names otherwise."""
    table = _REGISTRY.get(kind, {})
    if name not in table:
        raise ConfigError(kind, f"unknown {kind} {name!r}; accepted: " + ", ".join(table)
                          + " (or load one with --plugin FILE.py)")
    return table[name]


def names(kind):
    """Names of the registered definitions of ``kind``, in registration order."""
    return tuple(_REGISTRY.get(kind, {}))


def definitions(kind):
    """The registered definitions of ``kind``, in registration order."""
    return tuple(_REGISTRY.get(kind, {}).values())


def declared_params(kind):
    """{name: Param} of every parameter the definitions of ``kind`` declare (first wins)."""
    out = {}
    for d in definitions(kind):
        for p in d.params:
            out.setdefault(p.name, p)
    return out


class RegisteredName:
    """Accepted values of a field naming a definition: the names registered under ``kind``
    when the check runs (so names from plugins loaded later are accepted)."""

    def __init__(self, kind, extra=()):
        self.kind, self.extra = kind, tuple(extra)

    @property
    def options(self):
        return names(self.kind) + self.extra

    def accepts(self, v):
        """Whether ``v`` names a registered definition (a list or array never does)."""
        return isinstance(v, str) and v in self.options

    def describe(self, unit_name=""):
        return "one of " + ", ".join(repr(o) for o in self.options) + " (or a plugin's rule)"


def file_sha256(path):
    """Hex SHA-256 of the file ``path`` (plugin provenance: module names, config.json, resume)."""
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def load_plugin(path):
    """Import the plugin file ``path`` and register every definition at its top level.

    Returns the registered definitions. A missing file or one that fails to import raises
    `ConfigError` naming ``--plugin``; nothing is registered then.
    """
    path = os.path.abspath(os.fspath(path))
    if not os.path.isfile(path) or not path.endswith(".py"):
        raise ConfigError("--plugin", f"expected an existing .py file, got {path}")
    digest = file_sha256(path)[:16]
    spec = importlib.util.spec_from_file_location(f"locallearn_plugin_{digest}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ConfigError:
        raise
    except Exception as exc:  # the user's file: any error is reported as one line
        raise ConfigError("--plugin", f"{path} failed to import: {type(exc).__name__}: {exc}") \
            from None
    found = [v for v in vars(module).values() if isinstance(v, Definition)]
    for d in found:
        register(d)
    if path not in _PLUGINS:
        _PLUGINS.append(path)
        os.environ[PLUGIN_ENV] = os.pathsep.join(_PLUGINS)
    return found


def loaded_plugins():
    """Absolute paths of the plugin files loaded in this process."""
    return list(_PLUGINS)


def plugin_provenance():
    """[{path, sha256}] of the loaded plugins (written to each run's ``config.json``)."""
    return [dict(path=p, sha256=file_sha256(p)) for p in _PLUGINS]


def load_env_plugins():
    """Load the plugins named in ``LOCALLEARN_PLUGINS`` (worker processes; idempotent)."""
    for p in filter(None, os.environ.get(PLUGIN_ENV, "").split(os.pathsep)):
        if os.path.abspath(p) not in _PLUGINS:
            load_plugin(p)
