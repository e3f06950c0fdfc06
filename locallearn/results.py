"""The results store: one run directory per run.

Layout of a run directory::

    config.json     every resolved parameter (units as strings), protocol, device, seed, versions
    metrics.json    flat mapping name -> number or string (headline numbers, ``status``)
    tables/*.parquet  tidy pandas tables (CSV when pyarrow is missing)
    arrays.npz      arrays too big for a table (weights, spikes)

`save` writes into a temporary sibling directory and renames it into place (over an existing
directory: an atomic exchange where the system has one), so a run directory is either complete or
absent, or still the previous directory; `load` gives back equal objects.
"""

import dataclasses
import json
import math
import os
import shutil
import tempfile

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = ["RunResult", "save", "load", "check_output_dir", "atomic_write_npz",
           "atomic_write_json", "remove_stale", "table_format"]


@dataclasses.dataclass
class RunResult:
    """What a protocol returns.

    Attributes
    ----------
    protocol : str
        Protocol name.
    config : dict
        Resolved configuration as written to ``config.json`` (JSON-compatible, units as strings).
    metrics : dict
        Flat mapping of headline numbers (floats, ints, strings).
    tables : dict of str -> pandas.DataFrame
        Tidy tables.
    arrays : dict of str -> numpy.ndarray
        Large arrays.
    """

    protocol: str
    config: dict
    metrics: dict = dataclasses.field(default_factory=dict)
    tables: dict = dataclasses.field(default_factory=dict)
    arrays: dict = dataclasses.field(default_factory=dict)

    def __getitem__(self, key):
        for store in (self.metrics, self.arrays, self.tables):
            if key in store:
                return store[key]
        raise KeyError(key)


def table_format():
    """``parquet`` when pyarrow is importable, else ``csv``."""
    try:
        import pyarrow  # noqa: F401

        return "parquet"
    except ImportError:
        return "csv"


def _jsonable(v):
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def _unjson_metric(v):
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def check_output_dir(path, overwrite=False):
    """Refuse an output directory that exists and is not empty (unless ``overwrite``), or that
    cannot be created. Creates nothing."""
    path = os.path.abspath(path)
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise ConfigError("--out", f"{path} exists and is not a directory")
        if os.listdir(path) and not overwrite:
            raise ConfigError("--out", f"{path} exists and is not empty; choose a new directory "
                              "or pass --overwrite")
        if not os.access(path, os.W_OK):
            raise ConfigError("--out", f"{path} is not writable")
        return path
    parent = os.path.dirname(path)
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not parent or not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError("--out", f"cannot create {path}: {parent or '/'} is not a writable "
                          "directory")
    return path


def atomic_write_npz(path, **arrays):
    """Write an ``.npz`` file atomically (temporary file in the same directory, then rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _write_json(path, obj):
    with open(path, "w") as fh:
        json.dump(_jsonable(obj), fh, indent=2, sort_keys=False)
        fh.write("\n")


def save(result, path, overwrite=False):
    """Write ``result`` to the run directory ``path`` atomically; returns the absolute path.

    ``overwrite`` replaces an existing directory's contents (kept files: ``checkpoints/``).
    """
    path = check_output_dir(path, overwrite=overwrite)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(path) + "-", dir=parent)
    try:
        _write_json(os.path.join(tmp, "config.json"), dict(protocol=result.protocol,
                                                           **result.config))
        _write_json(os.path.join(tmp, "metrics.json"), result.metrics)
        if result.tables:
            os.makedirs(os.path.join(tmp, "tables"))
            fmt = table_format()
            for name, df in result.tables.items():
                fname = os.path.join(tmp, "tables", f"{name}.{fmt}")
                if fmt == "parquet":
                    df.to_parquet(fname, index=False)
                else:
                    df.to_csv(fname, index=False)
        np.savez_compressed(os.path.join(tmp, "arrays.npz"),
                            **{k: np.asarray(v) for k, v in result.arrays.items()})
        if os.path.exists(path):
            # keep checkpoints of an interrupted run that is being completed (hard links: the
            # old directory stays complete, and resumable, until the swap)
            keep = os.path.join(path, "checkpoints")
            if os.path.isdir(keep):
                shutil.copytree(keep, os.path.join(tmp, "checkpoints"), copy_function=_link)
            _swap_into_place(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _link(src, dst):
    """Hard-link ``src`` to ``dst`` (copy where the file system cannot link)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _exchange(a, b):
    """Atomically exchange the directories ``a`` and ``b`` (Linux ``renameat2`` with
    ``RENAME_EXCHANGE``); False where the system or file system cannot."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _swap_into_place(tmp, path):
    """Put the complete directory ``tmp`` at ``path`` in place of the existing one.

    With an atomic exchange ``path`` is at every instant either the old directory or the new
    one, so a process killed here leaves a complete result or the old (e.g. still resumable)
    directory; the old one ends up at ``tmp`` and is removed. Without it (not Linux): two
    renames, with a moment in which ``path`` is absent and the old directory is at
    ``path.old-*``.
    """
    if _exchange(tmp, path):
        shutil.rmtree(tmp)
        return
    old = tempfile.mkdtemp(prefix=".old-" + os.path.basename(path) + "-",
                           dir=os.path.dirname(path))
    os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old)


def remove_stale(path):
    """Remove what an interrupted `save` of ``path`` left beside it (``.tmp-NAME-*`` and
    ``.old-NAME-*`` directories). Only the writer holding ``path``'s lock may call this (see
    `locallearn.runlock`): another writer's `save` in progress looks the same."""
    import re

    path = os.path.abspath(path)
    parent, name = os.path.dirname(path), os.path.basename(path)
    pattern = re.compile(r"\.(tmp|old)-" + re.escape(name) + r"-[a-z0-9_]{8}$")
    try:
        entries = os.listdir(parent)
    except OSError:
        return
    for entry in entries:
        if pattern.match(entry) and os.path.isdir(os.path.join(parent, entry)):
            shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)


def atomic_write_json(path, obj):
    """Write ``obj`` as JSON to ``path`` atomically (temporary file beside it, then rename)."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json",
                               dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(_jsonable(obj), fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path):
    """Load a run directory written by :func:`save`."""
    path = os.path.abspath(path)
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise ConfigError("path", f"{path} is not a run directory (no config.json)")
    with open(os.path.join(path, "config.json")) as fh:
        config = json.load(fh)
    with open(os.path.join(path, "metrics.json")) as fh:
        metrics = {k: _unjson_metric(v) for k, v in json.load(fh).items()}
    tables = {}
    tdir = os.path.join(path, "tables")
    if os.path.isdir(tdir):
        for fname in sorted(os.listdir(tdir)):
            name, ext = os.path.splitext(fname)
            if ext == ".parquet":
                tables[name] = pd.read_parquet(os.path.join(tdir, fname))
            elif ext == ".csv":
                tables[name] = pd.read_csv(os.path.join(tdir, fname))
    with np.load(os.path.join(path, "arrays.npz"), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    protocol = config.pop("protocol")
    return RunResult(protocol=protocol, config=config, metrics=metrics, tables=tables,
                     arrays=arrays)
