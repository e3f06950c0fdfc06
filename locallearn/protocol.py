"""Protocols and the runner that turns a configuration into a saved run directory.

A protocol (see :mod:`locallearn.protocols`) is a `Protocol` record with four steps:

``prepare(cfg, seed) -> plan``
    Pure NumPy: draws initial weights and inputs from the seed, computes the schedule.
``build(cfg, plan) -> built``
    Creates the Brian2 objects (inside a device session); ``built.objects`` is what runs and
    ``built.duration`` how long.
``collect(cfg, plan, built) -> raw``
    Reads monitors and final state into plain NumPy arrays (inside the session).
``analyse(cfg, plan, raw) -> RunResult``
    Pure: metrics, tables and arrays (uses :mod:`locallearn.analysis`).

`run_protocol` validates everything first (parameters, device, output directory, and the
equations by building the network under Brian2's numpy target without running it), so bad input
fails in about a second with a one-line message and nothing written.
"""

import dataclasses
import datetime
import os
import platform
import subprocess
import sys
import time
from typing import Callable, Optional

from . import devices, params, results
from .errors import ConfigError

__all__ = ["Protocol", "get_protocol", "protocol_names", "make_config", "run_protocol",
           "metadata", "check_equations", "execute"]


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A registered experiment (see module docstring)."""

    name: str
    config_class: type
    prepare: Callable
    build: Callable
    collect: Callable
    analyse: Callable
    quick: dict
    doc: str = ""
    #: Brian2 object-name fragment -> config fields whose strings define that object
    object_fields: dict = dataclasses.field(default_factory=dict)
    #: optional: a custom executor replacing the build/run/collect cycle (multi-run protocols)
    execute: Optional[Callable] = None
    #: optional: normalize(cfg, overrides) -> cfg, making dependent fields consistent (e.g. J
    #: from the shape of A) after the user's overrides and before validation
    normalize: Optional[Callable] = None


def _registry():
    from locallearn.protocols import PROTOCOLS

    return PROTOCOLS


def protocol_names():
    """Names of the registered protocols."""
    return sorted(_registry())


def get_protocol(name):
    """The `Protocol` called ``name``; `ConfigError` listing the accepted names otherwise."""
    reg = _registry()
    if name not in reg:
        raise ConfigError("protocol", f"unknown protocol {name!r}; accepted: "
                          + ", ".join(sorted(reg)))
    return reg[name]


def make_config(protocol, quick=False, overrides=None):
    """The validated configuration: defaults (the full configuration), then the protocol's
    ``quick`` overrides if ``quick``, then the user's ``overrides`` (name -> value or string)."""
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    cfg = proto.config_class()
    if quick:
        cfg = params.apply_overrides(cfg, proto.quick)
    if overrides:
        cfg = params.apply_overrides(cfg, overrides)
    if proto.normalize is not None:
        cfg = proto.normalize(cfg, dict(proto.quick if quick else {}, **(overrides or {})))
    return params.validate_config(cfg)


def _git_revision():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        rev = out.stdout.strip() if out.returncode == 0 else "unknown"
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        if rev != "unknown" and dirty.stdout.strip():
            rev += "-dirty"
        return rev
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def metadata(device, seed, threads=0):
    """Provenance of a run: seed, device, versions of the package and its dependencies, git
    revision, host and date."""
    import brian2
    import numpy
    import pandas
    import scipy

    from locallearn import __version__

    return dict(seed=seed, device=device, threads=threads, locallearn=__version__,
                git_revision=_git_revision(), python=platform.python_version(),
                brian2=brian2.__version__, numpy=numpy.__version__, scipy=scipy.__version__,
                pandas=pandas.__version__, platform=platform.platform(),
                date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))


def _brian_message(exc):
    """One line from a Brian2 exception: the original error's type and first line."""
    original = getattr(exc, "original_error", None) or exc.__cause__ or exc
    if isinstance(original, KeyError) and original.args:
        return f"unknown identifier {original.args[0]!r}"
    text = str(original).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(original).__name__}: {first}"


def _equation_fields(cfg, prefix=""):
    """(name, string) of every equation-list field (``*_eqs``, ``*_model``) of a config."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            yield from _equation_fields(value)
        elif isinstance(value, str) and (f.name.endswith("_eqs") or f.name.endswith("_model")):
            yield f.name, value


def _blame_fields(proto, exc):
    text = str(exc)
    for fragment, fields in proto.object_fields.items():
        if f"_{fragment}'" in text or f"_{fragment}\"" in text or f"_{fragment}_" in text:
            return "/".join(fields)
    return "equations"


def resolved(cfg):
    """``cfg`` with every nested model replaced by its ``resolved()`` form, so the equation
    strings a named rule selects are written out in ``config.json``."""
    changes = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            value = resolved(value)
            changes[f.name] = value.resolved() if hasattr(value, "resolved") else value
    return dataclasses.replace(cfg, **changes) if changes else cfg


def check_equations(proto, cfg, plan):
    """Build the network under the numpy target and run Brian2's checks without simulating.

    Brian2's parse, unit and identifier errors become `ConfigError` naming the equation field.
    """
    from brian2 import Equations, Network, second

    for name, text in _equation_fields(cfg):
        if not text.strip():
            continue  # empty: filled in from a named rule
        try:
            Equations(text)
        except Exception as exc:  # Brian2's parser raises several exception types
            raise ConfigError(name, "Brian2 rejected the equations: " + _brian_message(exc)) \
                from None
    try:
        with devices.session("numpy"):
            built = proto.build(cfg, plan)
            Network(*built.objects).run(0 * second, namespace={})
    except ConfigError:
        raise
    except Exception as exc:  # Brian2 raises many exception types for bad equations
        raise ConfigError(_blame_fields(proto, exc),
                          "Brian2 rejected the model: " + _brian_message(exc)) \
            from None


def execute(proto, cfg, plan, device, seed, threads=0, report=True, genn_order=False):
    """Build, run once and collect on ``device``; returns the raw arrays of ``collect``.

    ``genn_order``: run in GeNN's order of operations (see `locallearn.devices`)."""
    key = proto.name + ("-genn-order" if genn_order else "")
    with devices.session(device, seed=seed, threads=threads, cache_key=key,
                         genn_order=genn_order) as sim:
        built = proto.build(cfg, plan)
        sim.run(built.objects, built.duration, report=report)
        return proto.collect(cfg, plan, built)


def run_protocol(name, quick=False, overrides=None, device=devices.DEFAULT_DEVICE, seed=1,
                 out=None, overwrite=False, threads=0, report=True, cfg=None, genn_order=False):
    """Run protocol ``name`` and (if ``out`` is given) save the run directory.

    Everything is validated before anything is compiled or written. Returns the `RunResult`.
    ``genn_order`` (runtime and cpp_standalone devices): run in GeNN's order of operations, to
    compare a deterministic configuration with a ``genn`` run spike for spike.
    """
    proto = get_protocol(name)
    devices.check_device(device)
    if cfg is None:
        cfg = make_config(proto, quick=quick, overrides=overrides)
    else:
        cfg = params.validate_config(cfg)
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError("--seed", f"must be a non-negative integer, got {seed!r}")
    if out is not None:
        results.check_output_dir(out, overwrite=overwrite)
    plan = proto.prepare(cfg, seed)
    check_equations(proto, cfg, plan)
    t0 = time.time()
    device_info = {}
    if device == "genn":
        from .genn import run_in_genn_env

        raw = run_in_genn_env(proto.name, cfg, seed, plan=plan, report=report,
                              info=device_info)
    elif proto.execute is not None:
        if genn_order:
            raise ConfigError("genn_order", f"protocol {name!r} has its own executor")
        raw = proto.execute(cfg, plan, device, seed, threads, report)
    else:
        raw = execute(proto, cfg, plan, device, seed, threads=threads, report=report,
                      genn_order=genn_order)
    wall = time.time() - t0
    result = proto.analyse(cfg, plan, raw)
    result.config = dict(params.config_to_dict(resolved(cfg)), **metadata(device, seed, threads))
    if genn_order:
        result.config["genn_order"] = True
    result.config.update(device_info)  # genn: the GeNN environment's versions, GeNN's, CPU/GPU
    result.metrics.setdefault("status", "ok")
    result.metrics["wall_time_s"] = wall
    if out is not None:
        results.save(result, out, overwrite=overwrite)
    return result


def python_executable():
    """The interpreter running this package (used to start worker processes)."""
    return sys.executable
