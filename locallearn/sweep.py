"""Parameter sweeps: compile once per structure, run every point, one tidy table.

``python -m locallearn sweep PROTOCOL --grid KEY=V1,V2,... [--grid ...] [--workers N]
[--scheduler ADDRESS] --out DIR``

Points are the Cartesian product of the grids (``seed`` may be a grid key). Points whose
configurations differ only in a protocol's *runtime keys* (values the compiled network takes as
``run_args``: learning rates, gains, noise, input scale, initial weights, the seed) share one
structure: a worker builds (and on cpp_standalone compiles) it once and reruns it per point.
Other keys (sizes, dt, durations, equation strings) give new structures, each built once.

Work is split into chunks (a structure's points, divided among the workers) that run in local
processes by default, or on a Dask cluster when ``scheduler`` is an address (``tcp://...``); each
worker builds its chunk's network once. Results come back to this process, which writes one run
directory per point (``DIR/point_0000``, ...) and ``DIR/sweep.parquet`` (also ``sweep.csv``):
one row per point, the swept parameters as columns next to every headline metric.
"""

import itertools
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading

import pandas as pd

from . import memory, params, results
from .errors import ConfigError
from .protocol import get_protocol, make_config, metadata, resolved
from .runlock import run_lock

__all__ = ["parse_grid", "points_of", "structure_key", "run_sweep", "run_chunk"]


def parse_grid(items):
    """``["eta_f=0.01,0.02", "seed=1,2"]`` -> {"eta_f": ["0.01", "0.02"], "seed": ["1", "2"]}."""
    grid = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError("--grid", f"expected KEY=V1,V2,..., got {item!r}")
        key, values = item.split("=", 1)
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not key.strip() or not vals:
            raise ConfigError("--grid", f"expected KEY=V1,V2,..., got {item!r}")
        grid[key.strip()] = vals
    if not grid:
        raise ConfigError("--grid", "give at least one --grid KEY=V1,V2,...")
    return grid


def points_of(grid):
    """The Cartesian product of a grid as a list of {key: value string}."""
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def structure_key(proto, cfg):
    """What must be equal for two configurations to share a build: the resolved configuration
    without the protocol's runtime keys."""
    d = params.config_to_dict(resolved(cfg))
    keys = proto.runtime_keys(cfg) if callable(proto.runtime_keys) else proto.runtime_keys
    for key in keys:
        node = d
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.get(p, {})
        node.pop(parts[-1], None)
    return json.dumps(d, sort_keys=True)


def _point_seed(point, seed):
    if "seed" not in point:
        return seed
    try:
        s = int(point["seed"])
    except ValueError:
        raise ConfigError("seed", f"grid values must be integers, got {point['seed']!r}") \
            from None
    if s < 0:
        raise ConfigError("seed", f"grid values must be >= 0, got {s}")
    return s


def run_chunk(protocol, quick, sets, chunk, device, threads=0):
    """Run one chunk (points sharing a structure) in this process.

    ``chunk`` is a list of (index, point, seed). Returns [(index, RunResult)]. This is what a
    worker process or a Dask worker executes. Brian2 installs a signal handler when it is first
    imported, which only the main thread may do, so a call from another thread (a Dask worker
    runs tasks in threads) runs the chunk in a child interpreter instead.
    """
    if threading.current_thread() is not threading.main_thread():
        return _run_chunk_in_child(protocol, quick, sets, chunk, device, threads)
    from .execution import run_points

    proto = get_protocol(protocol)
    items = []
    for idx, point, seed in chunk:
        overrides = dict(sets, **{k: v for k, v in point.items() if k != "seed"})
        cfg = make_config(proto, quick=quick, overrides=overrides)
        items.append((idx, point, seed, cfg, proto.prepare(cfg, seed)))
    out = []
    runs = run_points(proto, [(cfg, plan, seed) for _, _, seed, cfg, plan in items],
                      device=device, threads=threads)
    for (k, raw), (idx, point, seed, cfg, plan) in zip(runs, items):
        res = proto.analyse(cfg, plan, raw)
        res.config = dict(params.config_to_dict(resolved(cfg)), sweep_point=point,
                          **metadata(device, seed, threads))
        res.metrics.setdefault("status", "ok")
        out.append((idx, res))
    return out


def _number(text):
    """A grid value as a number where it is one (table columns), else the string."""
    try:
        return float(text)
    except ValueError:
        return text


def _run_chunk_in_child(*args):
    with tempfile.TemporaryDirectory(prefix="locallearn-chunk-") as tmp:
        src, dst = os.path.join(tmp, "in.pkl"), os.path.join(tmp, "out.pkl")
        with open(src, "wb") as fh:
            pickle.dump(args, fh)
        code = ("import pickle, sys; from locallearn.sweep import run_chunk; "
                "a = pickle.load(open(sys.argv[1], 'rb')); "
                "pickle.dump(run_chunk(*a), open(sys.argv[2], 'wb'))")
        proc = subprocess.run([sys.executable, "-c", code, src, dst], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise RuntimeError("sweep chunk failed: " + proc.stderr.strip()[-2000:])
        with open(dst, "rb") as fh:
            return pickle.load(fh)


def _chunks(groups, workers):
    chunks = []
    per_group = max(1, workers // max(1, len(groups))) if workers > len(groups) else 1
    for members in groups:
        n = min(per_group, len(members))
        for c in range(n):
            part = members[c::n]
            if part:
                chunks.append(part)
    return chunks


def run_sweep(protocol, grid_items, out, quick=False, sets=None, seed=1,
              device="cpp_standalone", workers=1, scheduler=None, threads=0, overwrite=False,
              progress=True):
    """Run a sweep (see module docstring); returns the tidy DataFrame of all points.

    Every point is validated (and its memory estimated) before anything runs; the sweep
    directory is then locked (`locallearn.runlock`) while its points are written."""
    from . import devices

    proto = get_protocol(protocol)
    devices.check_device(device)
    if not (devices.get(device).in_process and devices.get(device).reruns):
        raise ConfigError("device", f"sweeps rerun compiled binaries, which the {device} device "
                          "cannot: use " + ", ".join(n for n in devices.names()
                                                     if devices.get(n).reruns
                                                     and devices.get(n).in_process))
    if proto.rerun is None:
        raise ConfigError("protocol", f"{protocol!r} cannot rerun a compiled network")
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError("--workers", f"must be an integer >= 1, got {workers!r}")
    sets = dict(sets or {})
    grid = parse_grid(grid_items)
    pts = points_of(grid)
    # validate every point before anything runs
    groups = {}
    for idx, point in enumerate(pts):
        s = _point_seed(point, seed)
        overrides = dict(sets, **{k: v for k, v in point.items() if k != "seed"})
        cfg = make_config(proto, quick=quick, overrides=overrides)
        memory.check(proto, cfg, device)
        groups.setdefault(structure_key(proto, cfg), []).append((idx, point, s))
    results.check_output_dir(out, overwrite=overwrite)
    with run_lock(out):  # one writer: the sweep directory holds every point
        results.check_output_dir(out, overwrite=overwrite)
        return _run_groups(protocol, quick, sets, device, workers, scheduler, threads, out,
                           pts, groups, progress)


def _run_groups(protocol, quick, sets, device, workers, scheduler, threads, out, pts, groups,
                progress):
    """The part of `run_sweep` after validation (holding the sweep directory's lock)."""
    from tqdm import tqdm

    chunks = _chunks(list(groups.values()), workers)
    print(f"sweep {protocol}: {len(pts)} points, {len(groups)} structure(s), {len(chunks)} "
          f"chunk(s) on {'dask ' + scheduler if scheduler else f'{workers} process(es)'}")
    os.makedirs(out, exist_ok=True)
    rows = {}
    bar = tqdm(total=len(pts), disable=not progress, unit="point")

    def _collect(done):
        for idx, res in done:
            results.save(res, os.path.join(out, f"point_{idx:04d}"), overwrite=True)
            metrics = {k: v for k, v in res.metrics.items() if isinstance(v, (int, float, str))}
            rows[idx] = dict(point=idx, seed=res.config["seed"],
                             **{k: _number(v) for k, v in pts[idx].items() if k != "seed"},
                             **metrics)
            bar.update(1)

    args = [(protocol, quick, sets, chunk, device, threads) for chunk in chunks]
    if scheduler:
        from distributed import Client, as_completed

        with Client(scheduler) as client:
            futures = [client.submit(run_chunk, *a, pure=False) for a in args]
            for fut in as_completed(futures):
                _collect(fut.result())
    elif workers == 1 or len(chunks) == 1:
        for a in args:
            _collect(run_chunk(*a))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed as done_order

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as ex:
            futures = [ex.submit(run_chunk, *a) for a in args]
            for fut in done_order(futures):
                _collect(fut.result())
    bar.close()
    table = pd.DataFrame([rows[i] for i in sorted(rows)])
    if results.table_format() == "parquet":
        table.to_parquet(os.path.join(out, "sweep.parquet"), index=False)
    table.to_csv(os.path.join(out, "sweep.csv"), index=False)
    return table
