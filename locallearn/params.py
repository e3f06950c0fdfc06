"""Configuration fields with units, validation, overrides and JSON round trips.

Every model and protocol configuration is a frozen dataclass whose fields are declared with
:func:`param`. The declaration carries the field's unit (a Brian2 unit, or none for dimensionless
numbers), a one-line description, the accepted range, and for arrays the expected shape in terms of
other fields (``shape=("N", "J")``). From that one declaration this module derives:

* parsing of ``--set KEY=VALUE`` strings (``dt=0.1*ms``, ``A="[[-1, 2], [-2, -1]]"``,
  ``fast_on_pre="w = w - ..."``), with dimension checks;
* validation with one-line messages that name the parameter and the accepted range;
* JSON serialisation with units as strings (``"0.1 * msecond"``) and loading back.

Protocol configurations hold their model configuration in a field named ``model``; keys are looked
up in the protocol first, then in the model, so ``--set beta=1.0`` reaches the model's ``beta``.
"""

import ast
import copy
import dataclasses
import math
import numbers
import re

import numpy as np

from .errors import ConfigError

__all__ = [
    "param",
    "Range",
    "Choice",
    "field_paths",
    "apply_overrides",
    "validate_config",
    "config_to_dict",
    "config_from_dict",
    "format_value",
    "parse_value",
]


# --------------------------------------------------------------------------------------------
# Declarations
# --------------------------------------------------------------------------------------------
class Range:
    """Accepted numeric range (in the field's unit); ``None`` for an open side."""

    def __init__(self, lo=None, hi=None, lo_open=False, hi_open=False):
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open

    def accepts(self, v):
        """Whether ``v`` is a real number (not a bool) inside the range."""
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            return False
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        if self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)):
            return False
        return True

    def describe(self, unit_name=""):
        u = f" {unit_name}" if unit_name else ""
        if self.lo is not None and self.hi is not None:
            lb = "(" if self.lo_open else "["
            rb = ")" if self.hi_open else "]"
            return f"a number in {lb}{self.lo}, {self.hi}{rb}{u}"
        if self.lo is not None:
            return f"a number {'>' if self.lo_open else '>='} {self.lo}{u}"
        if self.hi is not None:
            return f"a number {'<' if self.hi_open else '<='} {self.hi}{u}"
        return f"a finite number{u}"


POSITIVE = Range(0, None, lo_open=True)
NONNEGATIVE = Range(0, None)


class Choice:
    """One of a fixed set of names."""

    def __init__(self, *options):
        self.options = tuple(options)

    def accepts(self, v):
        """Whether ``v`` is one of the options (a list or array never is)."""
        return isinstance(v, (str, numbers.Number)) and v in self.options

    def describe(self, unit_name=""):
        return "one of " + ", ".join(repr(o) for o in self.options)


def param(default, doc, unit=None, check=None, shape=None, kind=None):
    """Declare a configuration field.

    Parameters
    ----------
    default : object
        Default value (a Brian2 quantity when ``unit`` is given).
    doc : str
        One-line description, shown by ``python -m locallearn params PROTOCOL``.
    unit : brian2 Unit, optional
        Physical unit; values are checked for matching dimensions and written to JSON in this unit.
    check : Range or Choice, optional
        Accepted values (numbers are compared in ``unit``).
    shape : tuple, optional
        For array fields: the expected shape, each entry an int or the name of an integer field
        (``("N", "J")``); ``None`` entries accept any size.
    kind : str, optional
        One of ``quantity``, ``float``, ``int``, ``bool``, ``str``, ``array``, ``list``; inferred
        from the default when omitted. ``params`` declares a dict of *dynamic* parameters: the
        config class's ``dynamic_params()`` returns {name: metadata} (metadata as `Param.meta` of
        `locallearn.definitions` gives it, with ``default``), and each name then behaves like a
        field of the config (``--set NAME=...``, dotted paths, validation, flat JSON keys); the
        dict holds only the values set.
    """
    if kind is None:
        if shape is not None:
            kind = "array"
        elif unit is not None:
            kind = "quantity"
        elif isinstance(default, bool):
            kind = "bool"
        elif isinstance(default, numbers.Integral):
            kind = "int"
        elif isinstance(default, numbers.Real):
            kind = "float"
        elif isinstance(default, str):
            kind = "str"
        else:
            raise TypeError(f"cannot infer the kind of a field with default {default!r}")
    meta = dict(doc=doc, unit=unit, check=check, shape=shape, kind=kind)
    if isinstance(default, (list, dict, np.ndarray)):
        return dataclasses.field(default_factory=lambda d=default: _copy(d), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _copy(v):
    return copy.deepcopy(v)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------
_NAMESPACE = None


def _namespace():
    """Names allowed in ``--set`` values: Brian2 units and a few constants and functions."""
    global _NAMESPACE
    if _NAMESPACE is None:
        import brian2.units.allunits as allunits
        import brian2.units.stdunits as stdunits

        ns = {k: getattr(allunits, k) for k in allunits.__all__}
        ns.update({k: getattr(stdunits, k) for k in stdunits.__all__})
        ns.update(pi=math.pi, e=math.e, sqrt=np.sqrt, exp=np.exp, log=np.log, inf=math.inf,
                  nan=math.nan, true=True, false=False, none=None, null=None)
        _NAMESPACE = ns
    return _NAMESPACE


_ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load,
                  ast.List, ast.Tuple, ast.Call, ast.operator, ast.unaryop)


def _safe_eval(text, name):
    """Evaluate an arithmetic expression over numbers, lists and Brian2 units.

    ``^`` means a power, as in Brian2's printed units (``Hz^2`` is ``Hz**2``).
    """
    try:
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(name, f"cannot parse {text!r} ({exc.msg})") from None
    except (ValueError, RecursionError, MemoryError):  # e.g. a null byte, absurd nesting
        raise ConfigError(name, f"cannot parse {text!r}") from None
    if any(isinstance(n, ast.Pow) for n in ast.walk(tree)):
        # integer powers such as 9**9**9 would compute for hours: take them in floating point
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and type(node.value) is int:
                node.value = float(node.value)
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ConfigError(name, f"cannot parse {text!r}: only numbers, lists, units and "
                              "arithmetic are accepted")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name)
                                               and node.func.id in ("sqrt", "exp", "log")):
            raise ConfigError(name, f"cannot parse {text!r}: only sqrt, exp and log may be called")
        if isinstance(node, ast.Name) and node.id not in _namespace():
            raise ConfigError(name, f"unknown name {node.id!r} in {text!r} (use Brian2 units "
                              "such as ms, Hz)")
    try:
        return eval(compile(tree, "<--set>", "eval"), {"__builtins__": {}}, _namespace())
    except Exception as exc:  # unit mismatch in arithmetic, division by zero, ...
        raise ConfigError(name, f"cannot evaluate {text!r}: {exc}") from None


#: A constant exponent (``** 12``, ``^ (1e4)``) and a constant power tower (``9**9**9``).
_CONST_EXPONENT = re.compile(r"(?:\*\*|\^)\s*\(*\s*\+?(\d[\d.]*(?:[eE][+-]?\d+)?)")
_POWER_TOWER = re.compile(r"(?:\*\*|\^)\s*\(*\s*[+-]?[\d.]+(?:[eE][+-]?\d+)?\s*\)*\s*"
                          r"(?:\*\*|\^)")
#: Largest constant exponent accepted in a code string.
MAX_EXPONENT = 1000


def _check_powers(name, text):
    """Refuse constant powers in a code string that Brian2's symbolic parser would compute
    exactly for hours (``9**9**9``); every exponent up to `MAX_EXPONENT` passes."""
    if "**" not in text and "^" not in text:
        return
    too_big = any(float(m.group(1)) > MAX_EXPONENT for m in _CONST_EXPONENT.finditer(text)
                  if _looks_numeric(m.group(1)))
    if too_big or _POWER_TOWER.search(text):
        raise ConfigError(name, f"constant exponents above {MAX_EXPONENT} and powers of powers "
                          f"of constants are not accepted, got {text!r}")


def _unit_name(unit):
    return str(unit).replace("^", "**") if unit is not None else ""


def parse_value(name, meta, value):
    """Convert ``value`` (a string from the command line, or a Python object) to a field value.

    Raises `ConfigError` naming ``name`` when the value has the wrong type or dimensions.
    Range and shape checks are done later by :func:`validate_config`.
    """
    from brian2 import Quantity, DimensionMismatchError
    from brian2.units.fundamentalunits import get_dimensions, fail_for_dimension_mismatch

    kind, unit = meta["kind"], meta["unit"]
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(name, f"expected a string, got {value!r}")
        _check_powers(name, value)
        return value
    if kind == "bool":
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ConfigError(name, f"expected true or false, got {value!r}")
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise ConfigError(name, f"expected true or false, got {value!r}")
    if isinstance(value, str):
        if kind == "list" and not value.strip().startswith("["):
            value = [v for v in value.split(",") if v.strip()]
            value = [_safe_eval(v, name) if _looks_numeric(v) else v.strip() for v in value]
        else:
            value = _safe_eval(value, name)
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            value = [value]
        return list(value)
    if kind == "array":
        if value is None:
            return None
        try:
            if np.iscomplexobj(value):
                raise TypeError("complex")
            arr = np.array(value, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(name, f"expected a numeric array, got {value!r}") from None
        if isinstance(value, Quantity):
            raise ConfigError(name, "expected a dimensionless array")
        return arr
    if kind == "quantity":
        if value is None:
            raise ConfigError(name, f"expected a quantity in {_unit_name(unit)}")
        try:
            fail_for_dimension_mismatch(value, unit)
        except DimensionMismatchError:
            raise ConfigError(name, f"expected a value with units of {_unit_name(unit)} "
                              f"(e.g. {name}=1*{_unit_name(unit)}), got {value!r} with dimensions "
                              f"{get_dimensions(value)}") from None
        except (TypeError, ValueError, AttributeError):  # ragged lists, dicts, objects
            raise ConfigError(name, f"expected a quantity in {_unit_name(unit)}, got "
                              f"{value!r}") from None
        if not np.isscalar(np.asarray(value)) and np.asarray(value).ndim != 0:
            raise ConfigError(name, f"expected a scalar, got {value!r}")
        if np.asarray(value).dtype.kind not in "iuf":  # complex, object, ...
            raise ConfigError(name, f"expected a real number, got {value!r}")
        return Quantity(value, dim=get_dimensions(unit)) if get_dimensions(unit).is_dimensionless \
            else value
    # int / float
    if isinstance(value, Quantity) and not value.dim.is_dimensionless:
        raise ConfigError(name, f"expected a dimensionless number, got {value!r}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ConfigError(name, f"expected a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the float range
        raise ConfigError(name, f"must be finite, got {value!r}") from None
    if kind == "int":
        if not math.isfinite(number):
            raise ConfigError(name, f"expected an integer, got {value!r}")
        if number != int(value):
            raise ConfigError(name, f"expected an integer, got {value!r}")
        return int(value)
    return number


def _looks_numeric(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------
# Field lookup and overrides
# --------------------------------------------------------------------------------------------
def field_paths(cfg):
    """Map every field name and dotted path of a config to its path tuple.

    A bare name refers to the protocol's own field if there is one, else to the one nested field
    of that name; names found in several nested configs are reachable only by their dotted path.
    """
    paths, nested = {}, {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.metadata.get("kind") == "params":
            for name in cfg.dynamic_params():
                paths.setdefault(name, (f.name, name))
        elif dataclasses.is_dataclass(value):
            for sub, path in field_paths(value).items():
                paths[f"{f.name}.{sub}"] = (f.name,) + path
                if "." not in sub:
                    nested.setdefault(sub, []).append((f.name,) + path)
        else:
            paths[f.name] = (f.name,)
    for name, found in nested.items():
        if name not in paths and len(found) == 1:
            paths[name] = found[0]
    return paths


def _field_meta(cfg, path):
    obj, parent = cfg, None
    for p in path[:-1]:
        obj, parent = getattr(obj, p), obj
    if isinstance(obj, dict):  # a dynamic parameter (kind "params")
        return parent.dynamic_params()[path[-1]]
    for f in dataclasses.fields(obj):
        if f.name == path[-1]:
            return f.metadata
    raise KeyError(path)


def _replace_path(cfg, path, value):
    if len(path) == 1:
        return dataclasses.replace(cfg, **{path[0]: value})
    inner = getattr(cfg, path[0])
    if isinstance(inner, dict):  # a dynamic parameter (kind "params")
        return dataclasses.replace(cfg, **{path[0]: dict(inner, **{path[1]: value})})
    return dataclasses.replace(cfg, **{path[0]: _replace_path(inner, path[1:], value)})


def apply_overrides(cfg, overrides):
    """Return a copy of ``cfg`` with ``overrides`` (a mapping name -> value) applied.

    Names are leaf field names (``beta``) or dotted paths (``model.beta``). Values may be strings
    (parsed as on the command line) or Python objects. Unknown names raise `ConfigError` listing
    the accepted names.
    """
    paths = field_paths(cfg)
    for key, value in overrides.items():
        if key not in paths:
            close = sorted(k for k in paths if "." not in k)
            raise ConfigError(key, "unknown parameter; accepted: " + ", ".join(close))
        path = paths[key]
        meta = _field_meta(cfg, path)
        if not meta:  # nested dataclass given whole
            raise ConfigError(key, "set its fields one by one (e.g. model.beta=1)")
        cfg = _replace_path(cfg, path, parse_value(key, meta, value))
    return cfg


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def get_path(cfg, path):
    """The value at ``path`` (a tuple from `field_paths`); a dynamic parameter that was not
    set gives its declared default."""
    obj, parent = cfg, None
    for p in path:
        if isinstance(obj, dict):
            return obj.get(p, parent.dynamic_params()[p]["default"])
        obj, parent = getattr(obj, p), obj
    return obj


def _lookup(root, name):
    return get_path(root, field_paths(root)[name])


def validate_config(cfg, _root=None):
    """Check every field of ``cfg`` against its declaration, then the config's own ``check()``.

    Nested configs are checked first. Array shapes given by field names (``("N", "J")``) are
    resolved anywhere in the root config. Raises `ConfigError` with a one-line message naming the
    first bad parameter.
    """
    root = cfg if _root is None else _root
    nested = [f for f in dataclasses.fields(cfg) if dataclasses.is_dataclass(getattr(cfg, f.name))]
    for f in nested:
        validate_config(getattr(cfg, f.name), root)
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value) or not f.metadata:
            continue
        if f.metadata["kind"] == "params":
            declared = cfg.dynamic_params()
            for name, v in value.items():
                if name not in declared:
                    raise ConfigError(name, "unknown parameter: no registered rule declares it "
                                      "(load its plugin with --plugin FILE.py)")
                _check_value(name, declared[name], v, root)
        else:
            _check_value(f.name, f.metadata, value, root)
    if hasattr(cfg, "check"):
        cfg.check()
    return cfg


def _check_value(name, meta, value, root):
    """Raise `ConfigError` naming ``name`` if ``value`` breaks its declaration ``meta``."""
    from brian2 import Quantity

    kind, unit, check = meta["kind"], meta["unit"], meta["check"]
    if kind in ("quantity", "float", "int"):
        number = float(value / unit) if (kind == "quantity" and unit is not None
                                         and isinstance(value, Quantity)) else float(value)
        if not math.isfinite(number):
            raise ConfigError(name, f"must be finite, got {format_value(meta, value)}")
        if check is not None and not check.accepts(number):
            raise ConfigError(name, f"must be {check.describe(_unit_name(unit))}, got "
                              f"{format_value(meta, value)}")
    elif kind == "str" and check is not None and not check.accepts(value):
        raise ConfigError(name, f"must be {check.describe()}, got {value!r}")
    elif kind == "array" and value is not None:
        arr = np.asarray(value)
        if not np.all(np.isfinite(arr)):
            raise ConfigError(name, "must contain only finite numbers")
        if meta["shape"] is not None:
            want = tuple(int(_lookup(root, d)) if isinstance(d, str) else d
                         for d in meta["shape"])
            ok = arr.ndim == len(want) and all(w is None or w == a
                                               for w, a in zip(want, arr.shape))
            if not ok:
                names = "x".join(str(s) for s in meta["shape"])
                sizes = "x".join(str(w) for w in want)
                raise ConfigError(name, f"must have shape {names} = {sizes}, got "
                                  f"{'x'.join(map(str, arr.shape)) or 'a scalar'}")
    elif kind == "list" and check is not None:
        for v in value:
            if not check.accepts(v):
                raise ConfigError(name, f"entries must be {check.describe()}, got {v!r}")


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------
def format_value(meta, value):
    """Format a field value as a JSON-compatible object (units as strings)."""
    from brian2 import Quantity

    if meta and meta["kind"] == "quantity" and isinstance(value, Quantity):
        unit = meta["unit"]
        return f"{float(value / unit)!r} * {unit!r}"
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def config_to_dict(cfg):
    """Nested dict of a config dataclass, every value JSON-compatible, units as strings."""
    out = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.metadata.get("kind") == "params":  # dynamic parameters: flat keys, sorted
            declared = cfg.dynamic_params()
            for name in sorted(value):
                out[name] = format_value(declared.get(name), value[name])
        else:
            out[f.name] = config_to_dict(value) if dataclasses.is_dataclass(value) \
                else format_value(f.metadata, value)
    return out


def config_from_dict(cls_or_cfg, data):
    """Inverse of :func:`config_to_dict`: build a config of the given class (or template)."""
    cfg = cls_or_cfg() if isinstance(cls_or_cfg, type) else cls_or_cfg
    fields = {f.name for f in dataclasses.fields(cfg)}
    for f in dataclasses.fields(cfg):
        if f.metadata.get("kind") == "params":
            declared = cfg.dynamic_params()
            dyn = {k: parse_value(k, declared[k], v) for k, v in data.items()
                   if k in declared and k not in fields}
            cfg = dataclasses.replace(cfg, **{f.name: dict(getattr(cfg, f.name), **dyn)})
            continue
        if f.name not in data:
            continue
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            cfg = dataclasses.replace(cfg, **{f.name: config_from_dict(value, data[f.name])})
        elif f.metadata:
            cfg = dataclasses.replace(cfg, **{f.name: parse_value(f.name, f.metadata,
                                                                 data[f.name])})
    return cfg
