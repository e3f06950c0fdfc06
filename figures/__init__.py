"""Paper figures: one module per figure; figures never simulate.

Each figure module defines ``NAME``, ``TITLE``, ``runs(quick) -> {key: RunSpec}`` and
``draw(results, out_dir) -> [paths]``. :func:`make_figures` loads each required result from the
run-directory cache (``<cache>/<protocol>-<hash of config, seed, device>``) and runs the
protocol only when no cached result exists for that exact configuration. Overrides
(``figures NAME --set KEY=VALUE``) are passed to every protocol run of the figure; they change
the configuration and so the cache key. Rules from plugins are part of the configuration too
(their resolved strings and parameters), so an edited plugin never reuses a stale run.
A module with ``ON_DEMAND = True`` (its runs take long even at quick size) is left out of the
default list and drawn only when named (``figures mnist1d``).
"""

import dataclasses
import hashlib
import json
import os
import time

from locallearn import params, results
from locallearn.protocol import get_protocol, make_config, run_protocol
from locallearn.runlock import run_lock

from . import (fig1_autoencoder, fig_chain, fig_dynamics, fig_feedback, fig_fourier,
               fig_mnist1d, fig_xor)

__all__ = ["FIGURES", "RunSpec", "make_figures", "cached_run", "default_names"]

FIGURES = {m.NAME: m for m in (fig1_autoencoder, fig_dynamics, fig_chain, fig_fourier,
                               fig_feedback, fig_xor, fig_mnist1d)}


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """A protocol run a figure needs."""

    protocol: str
    overrides: tuple = ()
    seed: int = 1
    quick: bool = False


def _key(spec, cfg, device):
    blob = json.dumps(dict(protocol=spec.protocol, config=params.config_to_dict(cfg),
                           seed=spec.seed, device=device), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _run_path(spec, cache, device):
    cfg = make_config(get_protocol(spec.protocol), quick=spec.quick,
                      overrides=dict(spec.overrides))
    return cfg, os.path.join(cache, f"{spec.protocol}-{_key(spec, cfg, device)}")


def _usable(path, device):
    """Whether ``path`` holds a cached run that may be reused (reads only metrics.json)."""
    # runs of an unseeded device (genn) are not reproducible: never reuse one as a cache hit
    from locallearn import devices

    metrics = os.path.join(path, "metrics.json")
    if not devices.get(device).seeded or not os.path.isfile(metrics):
        return False
    with open(metrics) as fh:
        return json.load(fh).get("status", "ok") == "ok"


def cached_run(spec, cache, device="cpp_standalone", rerun=False, report=True):
    """Result of ``spec`` from the cache, running the protocol if it is missing (holding the
    run directory's lock, `locallearn.runlock`, while it runs)."""
    cfg, path = _run_path(spec, cache, device)
    if not rerun and _usable(path, device):
        print(f"  cached  {spec.protocol:<12} {path}")
        return results.load(path)
    with run_lock(path, what="--cache"):  # one writer per cached run directory
        if not rerun and _usable(path, device):  # another process finished it meanwhile
            print(f"  cached  {spec.protocol:<12} {path}")
            return results.load(path)
        print(f"  running {spec.protocol:<12} -> {path}", flush=True)
        return run_protocol(spec.protocol, cfg=cfg, device=device, seed=spec.seed, out=path,
                            overwrite=True, report=report)


def _run_missing(specs, cache, device, rerun, jobs, progress=False):
    """Run the missing runs of all requested figures side by side in ``jobs`` processes.

    Returns the specs run here (the figures then read them from the cache). Runs are
    independent (own build slot and run directory), so this only changes the wall time.
    """
    from locallearn import devices

    if jobs <= 1 or not devices.get(device).parallel:
        return set()
    todo = [s for s in dict.fromkeys(specs)
            if rerun or not _usable(_run_path(s, cache, device)[1], device)]
    if len(todo) < 2:
        return set()
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    print(f"running {len(todo)} protocol runs in {min(jobs, len(todo))} processes")
    with ProcessPoolExecutor(max_workers=min(jobs, len(todo)),
                             mp_context=mp.get_context("spawn")) as ex:
        futures = [ex.submit(cached_run, s, cache, device, True, False) for s in todo]
        for fut in tqdm(as_completed(futures), total=len(futures), unit="run",
                        desc="protocol runs", disable=not progress):
            fut.result()
    return set(todo)


def figure_runs(mod, quick, overrides=None):
    """The `RunSpec` records of figure module ``mod`` with the user's ``overrides`` ({key: value
    string}) applied first and the figure's own after them (a panel that pins a value, such as
    the fixed-weight ablation of the dynamics figure, keeps its meaning)."""
    extra = tuple((overrides or {}).items())
    return {k: dataclasses.replace(s, overrides=extra + tuple(s.overrides))
            for k, s in mod.runs(quick).items()}


def default_names():
    """The figures ``make_figures`` draws when none are named: all but the modules with
    ``ON_DEMAND = True`` (their runs take long even at quick size)."""
    return [n for n, m in FIGURES.items() if not getattr(m, "ON_DEMAND", False)]


def make_figures(names=None, quick=False, out="results/figures", cache=None, device=None,
                 rerun=False, jobs=1, overrides=None, progress=False):
    """Regenerate figures ``names`` (default: all) into ``out``; returns the written paths.

    ``progress``: tqdm bars (runs done, figures drawn, time left) and Brian2's report in every
    run that is not cached.

    ``jobs`` (dimensionless, >= 1): protocol runs that are not cached run in that many
    processes at once before the figures are drawn. ``overrides`` ({key: value string}, as
    ``--set``) go to every protocol run of the figures; a key that one of those protocols does
    not know is an error (before anything runs).
    """
    from locallearn.errors import ConfigError

    names = list(names) if names else default_names()
    for n in names:
        if n not in FIGURES:
            raise ConfigError("figures", f"unknown figure {n!r}; accepted: "
                              + ", ".join(FIGURES))
    if int(jobs) < 1:
        raise ConfigError("--jobs", f"expected an integer >= 1, got {jobs!r}")
    device = device or "cpp_standalone"
    cache = cache or os.path.join(os.path.dirname(os.path.abspath(out)) or ".", "runs")
    specs_of = {n: figure_runs(FIGURES[n], quick, overrides) for n in names}
    for specs in specs_of.values():  # validate every configuration before anything is written
        for s in specs.values():
            _run_path(s, cache, device)
    results.check_output_dir(cache, overwrite=True)
    results.check_output_dir(out, overwrite=True)
    done = _run_missing([s for n in names for s in specs_of[n].values()], cache,
                        device, rerun, int(jobs), progress)
    from tqdm import tqdm

    written = []
    for n in tqdm(names, unit="figure", desc="figures", disable=not progress):
        mod = FIGURES[n]
        t0 = time.time()
        print(f"{n}: {mod.TITLE}")
        specs = specs_of[n]
        res = {k: cached_run(s, cache, device=device, rerun=rerun and s not in done,
                             report=progress)
               for k, s in specs.items()}
        paths = mod.draw(res, out)
        written += paths
        print(f"  wrote {', '.join(paths)} ({time.time() - t0:.0f} s)")
    return written
