"""Running a protocol's network more than once from one build: segments and points.

Segmented runs (checkpoint and resume)
--------------------------------------
A long run is cut into equal segments. The network is built (and on cpp_standalone compiled)
once for one segment's duration; segment k reruns it with the state left by segment k - 1, its
time offset and its own seed (``run_args`` on cpp_standalone, restore-and-set on the runtime
devices). After every segment its recordings and the state are written atomically to
``DIR/checkpoints/`` (temporary file, then rename), and the state is checked for divergence
(non-finite values, runaway rates): a diverged run stops with a clear message and keeps what was
recorded. ``resume`` continues from the last complete segment and reaches the same result, bit for
bit, as an uninterrupted segmented run (each segment's seed depends only on the run's seed and the
segment index).

Protocols opt in with ``Protocol.rerun``: a namespace (e.g. a module) with
``run_args(cfg, plan, built, state, t_offset)``, ``final_state(built)``,
``merge(cfg, plan, raws, offsets)`` and ``divergence(cfg, plan, raw, state, t0, t1)`` (see
`locallearn.protocols.balanced`).

Points (compile-once sweeps)
----------------------------
`run_points` runs several configurations that share a structure (same equations, sizes and
durations) on one build: one compilation, then one rerun per point.
"""

import glob
import json
import os
import signal

import numpy as np

from . import devices
from .errors import ConfigError, DivergenceError
from .results import atomic_write_npz

__all__ = ["hooks", "segment_steps", "segment_seed", "execute_segmented", "run_points",
           "flatten", "unflatten", "CHECKPOINTS"]

CHECKPOINTS = "checkpoints"


def hooks(proto):
    """The rerun hooks of a protocol (``proto.rerun``: a namespace with ``run_args``,
    ``final_state``, ``merge`` and ``divergence``), or None if it has none."""
    return proto.rerun


def segment_steps(total_steps, every_steps):
    """(number of segments, steps per segment) for equal segments near ``every_steps`` long.

    The number of segments is the divisor of ``total_steps`` closest to
    ``total_steps / every_steps`` (at least 1), so segments tile the run exactly.
    """
    if every_steps <= 0 or every_steps >= total_steps:
        return 1, total_steps
    want = total_steps / every_steps
    divisors = [d for d in range(1, int(2 * want) + 2) if total_steps % d == 0]
    n = min(divisors, key=lambda d: (abs(d - want), d))
    return n, total_steps // n


def segment_seed(seed, k):
    """Seed of segment ``k`` (segment 0 uses the run's seed itself)."""
    return int(seed) if k == 0 else int((int(seed) * 1_000_003 + 7919 * k) % (2 ** 31 - 1))


def flatten(raw, prefix=""):
    """Nested dict of arrays -> flat dict with '/'-joined keys (for ``.npz`` files)."""
    out = {}
    for k, v in raw.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}/"))
        else:
            out[f"{prefix}{k}"] = np.asarray(v)
    return out


def unflatten(flat):
    """Inverse of :func:`flatten`."""
    out = {}
    for key, v in flat.items():
        parts = key.split("/")
        d = out
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = v
    return out


class _Terminated(Exception):
    pass


def _raise_terminated(signum, frame):
    raise _Terminated()


def _load_segment(ckpt, k):
    with np.load(os.path.join(ckpt, f"segment_{k:05d}.npz")) as npz:
        return unflatten({key: npz[key] for key in npz.files})


def _reload(raws, ckpt):
    """Segments kept on disk (None entries) read back for the final merge."""
    return [r if r is not None else _load_segment(ckpt, k) for k, r in enumerate(raws)]


def _load_checkpoints(ckpt):
    state_file = os.path.join(ckpt, "state.npz")
    if not os.path.isfile(state_file):
        return 0, None, []
    with np.load(state_file) as npz:
        flat = {k: npz[k] for k in npz.files}
    done = int(flat.pop("__segments_done__"))
    return done, flat, [None] * done


def execute_segmented(proto, cfg, plan, device, seed, segment_s, checkpoint_dir=None,
                      resume=False, threads=0, report=True, after_segment=None):
    """Run ``proto`` in segments of about ``segment_s`` seconds; returns the merged raw arrays.

    Parameters
    ----------
    segment_s : float, seconds (<= 0: one segment)
    checkpoint_dir : str or None
        Where segment recordings and the state are written after every segment.
    resume : bool
        Continue from the checkpoints in ``checkpoint_dir``.
    after_segment : callable(k, n) or None
        Called after each completed (and checkpointed) segment (progress, tests).

    Raises `DivergenceError` (carrying the merged raw arrays recorded so far in ``.raw``) when a
    segment diverges.
    """
    from brian2 import second

    h = hooks(proto)
    if h is None:
        raise ConfigError("checkpoint_every", f"protocol {proto.name!r} cannot run in segments")
    if checkpoint_dir:
        os.makedirs(checkpoint_dir, exist_ok=True)
    done, state, raws = _load_checkpoints(checkpoint_dir) if (resume and checkpoint_dir) \
        else (0, None, [])
    old_handler = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with devices.session(device, seed=seed, threads=threads, cache_key=proto.name) as sim:
            built = proto.build(cfg, plan)
            dt = float(cfg.dt / second)
            total_steps = int(round(float(built.duration / second) / dt))
            n_seg, seg = segment_steps(total_steps, int(round(segment_s / dt)))
            sim.prepare(built.objects, seg * dt * second)
            for k in range(done, n_seg):
                t0 = k * seg * dt
                values = h.run_args(cfg, plan, built, state=state, t_offset=t0)
                sim.run_point(values, seed=segment_seed(seed, k), tag=str(k % 2),
                              report=report)
                raw_k = proto.collect(cfg, plan, built)
                state = h.final_state(built)
                if checkpoint_dir:
                    atomic_write_npz(os.path.join(checkpoint_dir, f"segment_{k:05d}.npz"),
                                     **flatten(raw_k))
                    atomic_write_npz(os.path.join(checkpoint_dir, "state.npz"),
                                     __segments_done__=np.array(k + 1), **state)
                    raws.append(None)  # on disk: memory stays flat however long the run
                else:
                    raws.append(raw_k)
                reason = h.divergence(cfg, plan, raw_k, state, t0, t0 + seg * dt)
                del raw_k
                if reason is not None:
                    merged = h.merge(cfg, plan, _reload(raws, checkpoint_dir),
                                     [i * seg for i in range(len(raws))])
                    err = DivergenceError(f"{proto.name} diverged: {reason}")
                    err.raw = merged
                    err.t_diverged = t0 + seg * dt
                    raise err
                if after_segment is not None:
                    after_segment(k, n_seg)
            return h.merge(cfg, plan, _reload(raws, checkpoint_dir),
                           [i * seg for i in range(n_seg)])
    except _Terminated:
        raise KeyboardInterrupt("terminated (SIGTERM)") from None
    finally:
        signal.signal(signal.SIGTERM, old_handler)


def clear_checkpoints(checkpoint_dir):
    """Remove the segment files of a completed run (the final state is in ``arrays.npz``)."""
    for f in glob.glob(os.path.join(checkpoint_dir, "*.npz")):
        os.remove(f)
    try:
        os.rmdir(checkpoint_dir)
    except OSError:
        pass


def run_points(proto, points, device="cpp_standalone", threads=0, report=False):
    """Run configurations that share one structure on one build.

    ``points`` is a list of (cfg, plan, seed); the first point's network is built (and compiled
    once on cpp_standalone) and every point reruns it with its own values and seed. Yields
    (index, raw) in order.
    """
    h = hooks(proto)
    if h is None:
        raise ConfigError("sweep", f"protocol {proto.name!r} cannot rerun a compiled network")
    cfg0, plan0, seed0 = points[0]
    with devices.session(device, seed=seed0, threads=threads, cache_key=proto.name) as sim:
        built = proto.build(cfg0, plan0)
        sim.prepare(built.objects, built.duration)
        for k, (cfg, plan, seed) in enumerate(points):
            values = h.run_args(cfg, plan, built, state=None, t_offset=0.0)
            sim.run_point(values, seed=seed, tag=str(k), report=report)
            yield k, proto.collect(cfg, plan, built)


def describe(cfg_dict):
    """Short JSON of a config (for messages)."""
    return json.dumps(cfg_dict, sort_keys=True)[:200]
