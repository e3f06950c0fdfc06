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

`run_protocol` validates everything first (parameters, device, output directory, the memory the
configuration needs (``Protocol.memory``, before ``prepare``), and the equations by building the
network under Brian2's numpy target without running it), so bad input fails in about a second
with a one-line message and nothing written. It then takes the run directory's lock (one writer
per run directory, see `locallearn.runlock`) before writing.
"""

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

from . import devices, memory, params, results
from .errors import ConfigError, DivergenceError
from .protocol_record import Protocol  # noqa: F401  (re-exported)
from .runlock import run_lock

__all__ = ["Protocol", "get_protocol", "protocol_names", "make_config", "run_protocol",
           "metadata", "check_equations", "execute"]


def _registry():
    from locallearn.definitions import load_env_plugins
    from locallearn.protocols import PROTOCOLS

    load_env_plugins()  # a worker process loads the plugins its parent loaded
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
        other = params.field_paths(get_protocol(proto.see_also).config_class()) \
            if proto.see_also else {}
        own = params.field_paths(cfg) if other else {}
        for key in overrides:
            if key in other and key not in own:
                raise ConfigError(key, f"not a parameter of {proto.name}; it belongs to the "
                                  f"protocol {proto.see_also} (python -m locallearn run "
                                  f"{proto.see_also} --set {key}=...)")
        cfg = params.apply_overrides(cfg, overrides)
    if proto.normalize is not None:
        cfg = proto.normalize(cfg, dict(proto.quick if quick else {}, **(overrides or {})),
                              quick=quick)
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
    from locallearn.definitions import plugin_provenance

    return dict(seed=seed, device=device, threads=threads, locallearn=__version__,
                plugins=plugin_provenance(),
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


def _check_key(proto, cfg):
    """Fingerprint of what `check_equations` validates: the protocol, the resolved config, the
    Brian2 and package versions and the source of every loaded package module and plugin."""
    import brian2

    from locallearn import __version__
    from locallearn.definitions import plugin_provenance

    digest = hashlib.sha256()
    for mod_name in sorted(m for m in sys.modules if m.split(".")[0] == "locallearn"):
        path = getattr(sys.modules[mod_name], "__file__", None)
        if path and os.path.isfile(path):
            with open(path, "rb") as fh:
                digest.update(mod_name.encode() + b"\0" + fh.read())
    digest.update(json.dumps([proto.name, brian2.__version__, __version__, plugin_provenance(),
                              params.config_to_dict(resolved(cfg))],
                             sort_keys=True, default=repr).encode())
    return digest.hexdigest()


def _check_marker(proto, cfg):
    """Path of the marker file that records a passed check of this exact model, or None
    (build cache disabled: ``LOCALLEARN_BUILD_CACHE=0``)."""
    root = devices.build_cache_root()
    return None if root is None else os.path.join(root, "checks", _check_key(proto, cfg))


def check_equations(proto, cfg, plan):
    """Build the network under the numpy target and run Brian2's checks without simulating.

    Brian2's parse, unit and identifier errors become `ConfigError` naming the equation field.
    A check that passed is remembered in the build cache (keyed by the resolved config, the
    Brian2 version and the package and plugin sources), so a rerun of an unchanged model skips
    the numpy build; a failed check is never remembered.
    """
    from brian2 import Equations, Network, second

    marker = _check_marker(proto, cfg)
    if marker is not None and os.path.exists(marker):
        return

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
    if marker is not None:
        try:
            os.makedirs(os.path.dirname(marker), exist_ok=True)
            open(marker, "w").close()
        except OSError:
            pass  # a read-only cache only costs the next run this check again


def execute(proto, cfg, plan, device, seed, threads=0, report=True, genn_order=False):
    """Build, run once and collect on ``device``; returns the raw arrays of ``collect``.

    The recordings are checked for divergence at the end (`DivergenceError`): by the
    protocol's own check where it has rerun hooks, else for non-finite values.
    ``genn_order``: run in GeNN's order of operations (see `locallearn.devices`).
    """
    from brian2 import second

    key = proto.name + ("-genn-order" if genn_order else "")
    with devices.session(device, seed=seed, threads=threads, cache_key=key,
                         genn_order=genn_order) as sim:
        built = proto.build(cfg, plan)
        sim.run(built.objects, built.duration, report=report)
        raw = proto.collect(cfg, plan, built)
        t1 = float(built.duration / second)
        if proto.rerun is None:
            reason = nonfinite(raw)
        else:
            reason = proto.rerun.divergence(cfg, plan, raw, proto.rerun.final_state(built),
                                            0.0, t1)
        if reason is not None:
            err = DivergenceError(f"{proto.name} diverged: {reason}")
            err.raw, err.t_diverged = raw, t1
            raise err
        return raw


def nonfinite(raw, prefix=""):
    """The first recorded array (nested dict of arrays) holding NaN or inf, as a one-line
    reason, else None: the divergence check of protocols without rerun hooks."""
    for key, value in raw.items():
        if isinstance(value, dict):
            reason = nonfinite(value, f"{prefix}{key}/")
            if reason is not None:
                return reason
            continue
        arr = np.asarray(value)
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            first = np.unravel_index(np.flatnonzero(~np.isfinite(arr))[0], arr.shape)
            return f"non-finite values in {prefix}{key} (first at index {tuple(map(int, first))})"
    return None


def _segment_length(cfg):
    from brian2 import second

    every = getattr(cfg, "checkpoint_every", None)
    return float(every / second) if every is not None else 0.0


def diverged_result(proto, cfg, err, config):
    """The run directory content of a diverged run: everything recorded, ``status: diverged``."""
    from .execution import flatten

    metrics = dict(status="diverged", reason=str(err),
                   t_diverged_s=float(getattr(err, "t_diverged", float("nan"))))
    arrays = flatten(getattr(err, "raw", {}) or {})
    return results.RunResult(protocol=proto.name, config=config, metrics=metrics,
                             arrays={k.replace("/", "."): v for k, v in arrays.items()})


def _events_fields(cfg, prefix=""):
    """Dotted names of the ``wta_count`` fields that need custom events anywhere in ``cfg``."""
    out = []
    if not dataclasses.is_dataclass(cfg):
        return out
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name, None)
        if f.name == "wta_count" and value in ("events", "argmax") and getattr(cfg, "wta", True):
            out.append(prefix + f.name)
        elif dataclasses.is_dataclass(value):
            out += _events_fields(value, f"{prefix}{f.name}.")
    return out


def check_capabilities(cfg, dev, genn_order=False):
    """Raise `ConfigError` when ``cfg`` asks for what the `Device` ``dev`` cannot do (checked
    by capability, before anything is built): the events one-spike rule needs custom events and
    Brian2's order of operations."""
    for name in _events_fields(cfg):
        if not dev.custom_events:
            raise ConfigError(name, f"'events' and 'argmax' need custom events, which the "
                              f"{dev.name} device lacks; use 'summed'")
        if genn_order:
            raise ConfigError(name, "'events' and 'argmax' count in Brian2's order of "
                              "operations; genn_order needs 'summed'")


def run_protocol(name, quick=False, overrides=None, device=devices.DEFAULT_DEVICE, seed=1,
                 out=None, overwrite=False, threads=0, report=True, cfg=None, resume=False,
                 after_segment=None, genn_order=False):
    """Run protocol ``name`` and (if ``out`` is given) save the run directory.

    Everything is validated before anything is compiled or written. Long runs of protocols with
    rerun hooks proceed in segments of ``checkpoint_every`` with checkpoints in
    ``out/checkpoints`` (``resume=True`` continues them). Returns the `RunResult`; a diverged run
    raises `DivergenceError` after saving what was recorded (``status: diverged``).
    ``genn_order`` (runtime and cpp_standalone devices): one run in GeNN's order of operations,
    to compare a deterministic configuration with a ``genn`` run spike for spike.
    """
    proto = get_protocol(name)
    devices.check_device(device)
    if cfg is None:
        cfg = make_config(proto, quick=quick, overrides=overrides)
    else:
        cfg = params.validate_config(cfg)
    check_capabilities(cfg, devices.get(device), genn_order)
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError("--seed", f"must be a non-negative integer, got {seed!r}")
    if out is not None and not resume:
        results.check_output_dir(out, overwrite=overwrite)
    # before prepare (it may draw N x N matrices); a large estimate: one line on stderr
    memory.check(proto, cfg, device, announce=True)
    plan = proto.prepare(cfg, seed)
    check_equations(proto, cfg, plan)
    with (run_lock(out) if out is not None else contextlib.nullcontext()):
        if out is not None and not resume:  # again: another writer may have finished meanwhile
            results.check_output_dir(out, overwrite=overwrite)
        if out is not None:
            results.remove_stale(out)  # an interrupted save's temporaries
        return _run_checked(proto, cfg, plan, device, seed, out, threads, report, resume,
                            after_segment, genn_order)


def _run_checked(proto, cfg, plan, device, seed, out, threads, report, resume, after_segment,
                 genn_order):
    """The part of `run_protocol` after validation (holding the run directory's lock)."""
    from .execution import CHECKPOINTS, clear_checkpoints, execute_segmented

    name = proto.name
    config = dict(params.config_to_dict(resolved(cfg)), **metadata(device, seed, threads))
    if genn_order:
        config["genn_order"] = True
    dev = devices.get(device)
    segmented = (dev.in_process and dev.reruns and not genn_order and proto.rerun is not None
                 and _segment_length(cfg) > 0)
    ckpt = None
    if out is not None and segmented:
        os.makedirs(out, exist_ok=True)
        ckpt = os.path.join(out, CHECKPOINTS)
        os.makedirs(ckpt, exist_ok=True)
        results.atomic_write_json(os.path.join(out, "config.json"),
                                  dict(protocol=proto.name, status="running", **config))
    t0 = time.time()
    device_info = {}
    try:
        if not dev.in_process:
            raw = dev.execute(proto.name, cfg, seed, plan=plan, report=report, info=device_info)
        elif segmented:
            raw = execute_segmented(proto, cfg, plan, device, seed, _segment_length(cfg),
                                    checkpoint_dir=ckpt, resume=resume, threads=threads,
                                    report=report, after_segment=after_segment)
        elif proto.execute is not None:
            if genn_order:
                raise ConfigError("genn_order", f"protocol {name!r} has its own executor")
            raw = proto.execute(cfg, plan, device, seed, threads, report)
        else:
            raw = execute(proto, cfg, plan, device, seed, threads=threads, report=report,
                          genn_order=genn_order)
    except DivergenceError as err:
        err.result = diverged_result(proto, cfg, err, dict(config, **device_info))
        if out is not None:
            results.save(err.result, out, overwrite=True)
        raise
    wall = time.time() - t0
    result = proto.analyse(cfg, plan, raw)
    result.config = dict(config, **device_info)  # genn: its environment's versions, CPU/GPU
    result.metrics.setdefault("status", "ok")
    result.metrics["wall_time_s"] = wall
    if out is not None:
        results.save(result, out, overwrite=True)
        if ckpt is not None:
            clear_checkpoints(os.path.join(out, CHECKPOINTS))
    return result


def resume_run(out, report=True, after_segment=None):
    """Continue the interrupted segmented run in ``out`` (see `run_protocol`)."""
    path = os.path.join(out, "config.json")
    if not os.path.isfile(path):
        raise ConfigError("--resume", f"{out} holds no run (no config.json)")
    with run_lock(out, what="--resume"):  # before reading: another resume may be writing
        try:
            with open(path) as fh:
                saved = json.load(fh)
        except (OSError, ValueError) as exc:
            raise ConfigError("--resume", f"{path} is damaged ({type(exc).__name__}); the "
                              "run cannot be resumed") from None
        if saved.get("status") != "running" and not os.path.isdir(os.path.join(out,
                                                                               "checkpoints")):
            raise ConfigError("--resume", f"{out} holds a finished run; nothing to resume")
        _reload_plugins(saved.get("plugins", []))
        proto = get_protocol(saved["protocol"])
        cfg = params.config_from_dict(proto.config_class, saved)
        return run_protocol(proto.name, cfg=cfg, device=saved["device"],
                            seed=int(saved["seed"]), out=out,
                            threads=int(saved.get("threads", 0)), report=report, resume=True,
                            after_segment=after_segment)


def _reload_plugins(provenance):
    """Load the plugin files a run was started with; `ConfigError` if one is gone or changed."""
    from .definitions import file_sha256, load_plugin

    for item in provenance:
        path = item["path"]
        if not os.path.isfile(path):
            raise ConfigError("--resume", f"the run used the plugin {path}, which is gone")
        if file_sha256(path) != item["sha256"]:
            raise ConfigError("--resume", f"the plugin {path} changed since the run "
                              "started; restore it or start a new run")
        load_plugin(path)


def python_executable():
    """The interpreter running this package (used to start worker processes)."""
    return sys.executable
