"""Memory a configuration needs, estimated before anything is drawn or built.

A protocol counts what its configuration creates through its optional ``Protocol.memory`` hook,
``memory(cfg) -> Need``: synapses (every Synapses object's connections), neurons and recorded
values (monitor entries over the whole run, spike monitors included). The hook reads the
configuration only (no ``plan``): ``prepare`` itself may draw N x N matrices, so the check runs
before it and a configuration far too large is refused without allocating anything.

`estimate` turns the counts into bytes with constants measured on this package (see
`BYTES_PER_SYNAPSE`); `check` compares them with `limit` and raises `ConfigError` (one line:
the estimate, the limit and the parameters to change) before ``run_protocol`` prepares, checks
equations or writes anything.
"""

import dataclasses
import os

from .errors import ConfigError

__all__ = ["Need", "estimate", "limit", "check", "describe", "BYTES_PER_SYNAPSE",
           "BYTES_PER_NEURON", "BYTES_PER_RECORDED", "BASE_BYTES", "SPIKE_RATE_HZ",
           "ANNOUNCE_BYTES"]

#: Peak resident bytes per synapse of a cpp_standalone run, Python process and simulation
#: binary together. Code generation and the run hold several copies of each synapse variable
#: (w and its traces, pre/post indices, the initial values in the Python process, the binary's
#: arrays, the weights read back, the final-state copies). Measured with ``bench/memory_fit.py``
#: (peak RSS of the Python process plus that of its largest child, ``ru_maxrss``) on
#: ``autoencoder`` runs of 0.4 s at N = 500, 1000, 2000: 0.76, 1.09, 2.15 GB; the least-squares
#: fit of peak - recorded x `BYTES_PER_RECORDED` against the synapse count gives 240 bytes per
#: synapse and an intercept of 488 MiB (`BASE_BYTES`); the fit reproduces N = 2000 within 1 %.
#: Checked outside the fit at N = 3000: measured 3.19 GB, estimated 3.66 GB (15 % above).
BYTES_PER_SYNAPSE = 240
#: Bytes per neuron (state variables, per-neuron parameters; small against the synapses).
BYTES_PER_NEURON = 1_000
#: Bytes per recorded value: 8 (float64) times 3 copies (the monitor's array, the copy read
#: back into Python, the merged/analysed array).
BYTES_PER_RECORDED = 24
#: Fixed cost: the Python process with Brian2, NumPy, SciPy and pandas loaded, plus the
#: compiler's peak while building the standalone project (the intercept of the fit).
BASE_BYTES = 490 * 2 ** 20
#: Mean firing rate assumed when counting spike-monitor entries (Hz; generous for these nets).
SPIKE_RATE_HZ = 50.0
#: Estimated peak (bytes) from which a run prints its estimate before the build (`check`):
#: every default and quick configuration stays below (at most 0.89 GB), a balanced learner
#: from N of about 700 up is above.
ANNOUNCE_BYTES = 10 ** 9
#: Fraction of the limit a configuration may use.
HEADROOM = 0.9


@dataclasses.dataclass
class Need:
    """What a configuration creates: counts (not bytes) and the parameters that set them.

    Attributes
    ----------
    synapses : int
        Connections of every Synapses object (all-to-all pathways: N^2 each, per replica).
    neurons : int
        Neurons of every group.
    recorded : int
        Values recorded over the whole run (monitor entries; a spike counts 1.5: int32 index
        plus float64 time).
    knobs : str
        The parameters to change to need less, for the message (e.g. ``"N"``).
    """

    synapses: int = 0
    neurons: int = 0
    recorded: int = 0
    knobs: str = ""


def estimate(need):
    """Peak bytes of a run with counts ``need`` (a `Need`)."""
    return int(BASE_BYTES + need.synapses * BYTES_PER_SYNAPSE + need.neurons * BYTES_PER_NEURON
               + need.recorded * BYTES_PER_RECORDED)


def _meminfo_available():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _gpu_memory():
    """Total memory (bytes) of the first GPU from nvidia-smi, or None."""
    import subprocess

    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True,
                             timeout=10)
        return int(out.stdout.split()[0]) * 2 ** 20 if out.returncode == 0 else None
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


def limit(device="cpp_standalone"):
    """(bytes, what) a run may use: ``LOCALLEARN_MEMORY_LIMIT`` (bytes) if set, else the memory
    available now (``MemAvailable`` of /proc/meminfo; elsewhere the physical memory), and on
    a GPU device (``Device.gpu``: genn, cuda) at most the GPU's memory."""
    from .devices import registry
    env = os.environ.get("LOCALLEARN_MEMORY_LIMIT")
    if env:
        try:
            return int(float(env)), "LOCALLEARN_MEMORY_LIMIT"
        except ValueError:
            raise ConfigError("LOCALLEARN_MEMORY_LIMIT", f"expected bytes, got {env!r}") \
                from None
    avail, what = _meminfo_available(), "available memory"
    if avail is None:
        avail = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        what = "physical memory"
    if registry.get(device).gpu:
        gpu = _gpu_memory()
        if gpu is not None and gpu < avail:
            avail, what = gpu, "GPU memory"
    return avail, what


def _gb(n):
    return f"{n / 1e9:.3g} GB"


def need_of(proto, cfg):
    """The protocol's `Need` for ``cfg``, or None if it has no ``memory`` hook."""
    hook = getattr(proto, "memory", None)
    return hook(cfg) if hook is not None else None


def _line(need, need_b, lim, what):
    """``memory estimate: X GB (Y GiB; S synapses, R recorded values; limit ...)``."""
    return (f"memory estimate: {_gb(need_b)} ({need_b / 2 ** 30:.3g} GiB; {need.synapses} "
            f"synapses, {need.recorded} recorded values; limit {_gb(HEADROOM * lim)}, "
            f"{HEADROOM:.0%} of the {what})")


def describe(proto, cfg, device="cpp_standalone"):
    """One line: the estimate for ``cfg`` and the limit (for ``params`` and ``show``)."""
    need = need_of(proto, cfg)
    if need is None:
        return "memory estimate: none (the protocol has no memory hook)"
    return _line(need, estimate(need), *limit(device))


def check(proto, cfg, device="cpp_standalone", announce=False):
    """`ConfigError` if ``cfg`` needs more than `HEADROOM` of `limit` (checked before
    ``prepare``, so nothing large is allocated or written). ``announce`` (``run_protocol``):
    once it passed, also print the estimate as one line on stderr (`describe`'s) when it is
    `ANNOUNCE_BYTES` or more, or always when ``LOCALLEARN_MEMORY_REPORT`` is set. Nothing
    for a protocol without a ``memory`` hook."""
    import sys

    need = need_of(proto, cfg)
    if need is None:
        return
    need_b = estimate(need)
    lim, what = limit(device)
    if need_b > HEADROOM * lim:
        raise ConfigError(need.knobs or "config",
                          f"the run needs about {_gb(need_b)} ({need.synapses} synapses, "
                          f"{need.recorded} recorded values) but the limit is "
                          f"{_gb(HEADROOM * lim)} ({HEADROOM:.0%} of the {what}); make "
                          f"{need.knobs or 'the network'} smaller")
    if announce and (need_b >= ANNOUNCE_BYTES or os.environ.get("LOCALLEARN_MEMORY_REPORT")):
        print(_line(need, need_b, lim, what), file=sys.stderr, flush=True)
