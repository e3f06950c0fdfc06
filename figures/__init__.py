"""Paper figures: one module per figure; figures never simulate.

Each figure module defines ``NAME``, ``TITLE``, ``runs(quick) -> {key: RunSpec}`` and
``draw(results, out_dir) -> [paths]``. :func:`make_figures` loads each required result from the
run-directory cache (``<cache>/<protocol>-<hash of config, seed, device>``) and runs the
protocol only when no cached result exists for that exact configuration.
"""

import dataclasses
import hashlib
import json
import os
import time

from locallearn import params, results
from locallearn.protocol import get_protocol, make_config, run_protocol

from . import fig1_autoencoder, fig_chain, fig_dynamics, fig_fourier, fig_xor

__all__ = ["FIGURES", "RunSpec", "make_figures", "cached_run"]

FIGURES = {m.NAME: m for m in (fig1_autoencoder, fig_dynamics, fig_chain, fig_fourier, fig_xor)}


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


def cached_run(spec, cache, device="cpp_standalone", rerun=False):
    """Result of ``spec`` from the cache, running the protocol if it is missing."""
    proto = get_protocol(spec.protocol)
    cfg = make_config(proto, quick=spec.quick, overrides=dict(spec.overrides))
    path = os.path.join(cache, f"{spec.protocol}-{_key(spec, cfg, device)}")
    # GeNN runs are not reproducible (no seed under brian2genn): never reuse one as a cache hit
    if not rerun and device != "genn" and os.path.isfile(os.path.join(path, "metrics.json")):
        res = results.load(path)
        if res.metrics.get("status", "ok") == "ok":
            print(f"  cached  {spec.protocol:<12} {path}")
            return res
    print(f"  running {spec.protocol:<12} -> {path}")
    return run_protocol(spec.protocol, cfg=cfg, device=device, seed=spec.seed, out=path,
                        overwrite=True)


def make_figures(names=None, quick=False, out="results/figures", cache=None, device=None,
                 rerun=False):
    """Regenerate figures ``names`` (default: all) into ``out``; returns the written paths."""
    from locallearn.errors import ConfigError

    names = list(names) if names else list(FIGURES)
    for n in names:
        if n not in FIGURES:
            raise ConfigError("figures", f"unknown figure {n!r}; accepted: "
                              + ", ".join(FIGURES))
    device = device or "cpp_standalone"
    cache = cache or os.path.join(os.path.dirname(os.path.abspath(out)) or ".", "runs")
    results.check_output_dir(cache, overwrite=True)
    results.check_output_dir(out, overwrite=True)
    written = []
    for n in names:
        mod = FIGURES[n]
        t0 = time.time()
        print(f"{n}: {mod.TITLE}")
        specs = mod.runs(quick)
        res = {k: cached_run(s, cache, device=device, rerun=rerun) for k, s in specs.items()}
        paths = mod.draw(res, out)
        written += paths
        print(f"  wrote {', '.join(paths)} ({time.time() - t0:.0f} s)")
    return written
