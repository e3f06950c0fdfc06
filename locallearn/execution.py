"""Running a protocol's network more than once from one build: segments and points.

Segmented runs (checkpoint and resume)
--------------------------------------
A long run is cut into equal segments. The network is built (and on cpp_standalone compiled)
once for one segment's duration; segment k reruns it with the state left by segment k - 1, its
time offset and its own seed (``run_args`` on cpp_standalone, restore-and-set on the runtime
devices). After every segment its recordings and the state are written atomically to
``DIR/checkpoints/`` (temporary file, then rename): ``segment_KKKKK.npz`` holds segment k's
recordings and the state after it, ``state.npz`` the latest state and the number of segments
done. The state is checked for divergence (non-finite values, runaway rates): a diverged run
stops with a clear message and keeps what was recorded. ``resume`` continues from the last
complete segment and reaches the same result, bit for bit, as an uninterrupted segmented run
(each segment's seed depends only on the run's seed and the segment index).

Checked checkpoints: ``resume`` reads every checkpoint file in full before it continues, which
checks the CRC-32 the ``.npz`` (zip) format keeps for every array, so a truncated or corrupted
file is found. When the latest state or a segment file is damaged or missing, the run continues
from the last segment whose file and all earlier ones are intact (one line on stderr names the
damaged file), after removing the later segment files; the result is still bit-identical to an
uninterrupted run. With no intact segment it stops with `ConfigError` naming the damaged file.
The cost: each segment file also holds the state (weights included) after its segment.

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
import sys

import numpy as np

from . import devices
from .errors import ConfigError, DivergenceError
from .results import atomic_write_npz

__all__ = ["hooks", "segment_steps", "segment_seed", "execute_segmented", "run_points",
           "flatten", "unflatten", "CHECKPOINTS", "dynamic_state_variables"]

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


STATE_PREFIX = "__state__/"


def dynamic_state_variables(obj, skip=()):
    """Names of the dynamic state variables of the Brian2 group or synapses ``obj``: its own
    array variables that are neither constant, read-only nor scalar (whatever the equations
    define, so an edited model keeps all its state across segments), except those in ``skip``.
    What a protocol's ``final_state`` carries from one segment to the next."""
    from brian2.core.variables import ArrayVariable

    for name, v in obj.variables.items():
        if (isinstance(v, ArrayVariable) and not name.startswith("_") and not v.constant
                and not v.read_only and not v.scalar and v.owner is not None
                and v.owner.name == obj.name and name not in skip):
            yield name


def _segment_file(ckpt, k):
    return os.path.join(ckpt, f"segment_{k:05d}.npz")


def _read_npz(path):
    """Every array of an ``.npz`` file, each read in full, so that the zip format's CRC-32 of
    every member is checked: a truncated or corrupted file raises `_Damaged`."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except Exception as exc:  # zipfile, numpy and the OS raise many types for a damaged file
        raise _Damaged(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                       .rstrip(": ")) from None


class _Damaged(Exception):
    pass


def _load_segment(ckpt, k):
    """The recordings of segment ``k`` (without the state stored beside them)."""
    flat = _read_npz(_segment_file(ckpt, k))
    return unflatten({key: v for key, v in flat.items() if not key.startswith("__")})


def _reload(raws, ckpt):
    """Segments kept on disk (None entries) read back for the final merge."""
    return [r if r is not None else _load_segment(ckpt, k) for k, r in enumerate(raws)]


def _segment_state(ckpt, k):
    """The state after segment ``k`` stored in its segment file; `_Damaged` if the file is
    missing, damaged or holds no state."""
    path = _segment_file(ckpt, k)
    if not os.path.isfile(path):
        raise _Damaged("missing")
    flat = _read_npz(path)
    if int(flat.get("__segment__", -1)) != k:
        raise _Damaged("holds no state of this segment")
    return {key[len(STATE_PREFIX):]: v for key, v in flat.items()
            if key.startswith(STATE_PREFIX)}


def _load_checkpoints(ckpt):
    """(segments done, state after them, [None] * done) of a checkpoint directory, verified.

    Every segment file up to the latest state is read in full (CRC-checked). When the latest
    state (``state.npz``) or a segment file is damaged or missing, the run continues from the
    last segment whose file and every earlier one are intact (its file holds the state after
    it), says so on stderr and removes the files after that point; with no intact segment it
    stops with `ConfigError` naming the damaged file.
    """
    state_file = os.path.join(ckpt, "state.npz")
    segs = sorted(glob.glob(os.path.join(ckpt, "segment_*.npz")))
    if not os.path.isfile(state_file) and not segs:
        return 0, None, []
    problem = None
    try:
        flat = _read_npz(state_file) if os.path.isfile(state_file) else None
        if flat is None:
            problem = (state_file, "missing")
        else:
            done = int(flat.pop("__segments_done__"))
    except (_Damaged, KeyError) as exc:
        problem = (state_file, str(exc) or "no segment count")
    if problem is None:
        for k in range(done):  # every kept segment must be readable for the final merge
            try:
                _segment_state(ckpt, k)
            except _Damaged as exc:
                problem = (_segment_file(ckpt, k), str(exc))
                break
        else:
            return done, flat, [None] * done
    # fall back: the longest run of intact segment files from the first
    good = 0
    while True:
        try:
            state = _segment_state(ckpt, good)
        except _Damaged:
            break
        last_state, good = state, good + 1
    path, why = problem
    if good == 0:
        raise ConfigError("--resume", f"damaged checkpoint {path} ({why}) and no intact "
                          "checkpoint before it; start the run again")
    for f in segs:  # the kept segments must match the state the run continues from
        if int(os.path.basename(f)[8:13]) >= good:
            os.remove(f)
    atomic_write_npz(state_file, __segments_done__=np.array(good), **last_state)
    print(f"locallearn: checkpoint {path} unusable ({why}); resuming from the last intact "
          f"checkpoint, after segment {good}", file=sys.stderr, flush=True)
    return good, last_state, [None] * good


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
            sim.prepare(built.objects, seg * dt * second, report=report)
            for k in range(done, n_seg):
                t0 = k * seg * dt
                values = h.run_args(cfg, plan, built, state=state, t_offset=t0)
                sim.run_point(values, seed=segment_seed(seed, k), tag=str(k % 2),
                              report=report)
                raw_k = proto.collect(cfg, plan, built)
                state = h.final_state(built)
                if checkpoint_dir:  # the segment file holds the state too (fallback point)
                    atomic_write_npz(_segment_file(checkpoint_dir, k), __segment__=np.array(k),
                                     **flatten(raw_k),
                                     **{STATE_PREFIX + key: v for key, v in state.items()})
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
        sim.prepare(built.objects, built.duration, report=report)
        for k, (cfg, plan, seed) in enumerate(points):
            values = h.run_args(cfg, plan, built, state=None, t_offset=0.0)
            sim.run_point(values, seed=seed, tag=str(k), report=report)
            yield k, proto.collect(cfg, plan, built)


def describe(cfg_dict):
    """Short JSON of a config (for messages)."""
    return json.dumps(cfg_dict, sort_keys=True)[:200]
