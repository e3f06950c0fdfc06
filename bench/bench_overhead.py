"""Benchmark 6: the package's cost over a bare Brian2 script of the same network (issue 14).

``python -m locallearn run autoencoder --quick`` (validation, the network with its recordings,
analysis, the saved run directory) against ``bench/bare_autoencoder.py`` (the same network at
the same configuration, written directly with Brian2, no analysis, nothing saved), each timed as
a whole process (interpreter start, imports, code generation, compilation, simulation) in
alternating pairs, after one warm-up run of each that fills both build caches. Progress
reports are off in both (output is not a terminal). Goal: median package/bare ratio <= 1.3.

A bare Brian2 script recompiles ``main.cpp`` on some runs (Brian2 writes its clock lines in set
order, which follows object addresses; the package sorts them, `locallearn.devices.session`).
To compare against the bare script at its best, its object files and binary are dated a day
ahead before every timed run, so ``make`` never rebuilds them (the regenerated sources differ
only in the order of independent assignments).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _timed(cmd, cwd):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"{' '.join(cmd[:4])} ... exited {proc.returncode}: {tail[0]}")
    return wall


def _no_rebuild(build):
    """Date the object files and the binary in ``build`` a day ahead (make skips them)."""
    ahead = time.time() + 86400
    for root, _, files in os.walk(build):
        for f in files:
            if f.endswith(".o") or f == "main":
                os.utime(os.path.join(root, f), (ahead, ahead))


def run(quick=False, pairs=None):
    """Median wall seconds (whole processes) of the package's quick autoencoder and the bare
    script, over ``pairs`` alternating pairs (default 5; 3 with ``quick``), and their ratio."""
    pairs = pairs or (3 if quick else 5)
    work = tempfile.mkdtemp(prefix="locallearn-overhead-")
    try:
        build = os.path.join(work, "bare-build")
        out = os.path.join(work, "run")
        package = [sys.executable, "-m", "locallearn", "run", "autoencoder", "--quick",
                   "--out", out, "--overwrite"]
        bare = [sys.executable, os.path.join(HERE, "bare_autoencoder.py"), build]
        _timed(package, work)  # warm-up: fills the build caches and the check cache
        _timed(bare, work)
        t_pkg, t_bare = [], []
        for _ in range(pairs):
            t_pkg.append(_timed(package, work))
            _no_rebuild(build)
            t_bare.append(_timed(bare, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratios = [p / b for p, b in zip(t_pkg, t_bare)]
    rows = [dict(what="package (run autoencoder --quick)", median_s=statistics.median(t_pkg),
                 min_s=min(t_pkg), max_s=max(t_pkg)),
            dict(what="bare Brian2 script (no rebuild)", median_s=statistics.median(t_bare),
                 min_s=min(t_bare), max_s=max(t_bare)),
            dict(what="ratio package/bare", median_s=statistics.median(ratios),
                 min_s=min(ratios), max_s=max(ratios))]
    return dict(title=f"6. package overhead (quick autoencoder, {pairs} alternating pairs, "
                      "whole processes)",
                rows=rows, goal="median ratio <= 1.3",
                ratio=statistics.median(ratios))
