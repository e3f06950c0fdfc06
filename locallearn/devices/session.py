"""Device sessions: activate a registered device for one network and restore Brian2 afterwards.

The devices themselves are registered modules of this package (`locallearn.devices.registry`):
each one's ``activate`` calls ``set_device`` and sets its preferences inside a `session`, which
backs up and restores every preference. Built in:

``numpy``, ``cython``
    Brian2 runtime mode with that code-generation target (`locallearn.devices.runtime`).
``cpp_standalone``
    A C++ project generated, compiled and run in its own build directory (one per run; parallel
    runs never share one). Supports compile-once reruns with ``run_args`` (see `Session.rerun`;
    `locallearn.devices.standalone`).
``genn``
    brian2genn, run in its own environment and subprocess (see :mod:`locallearn.devices.genn`);
    the worker there activates it with `genn_session`.
``cuda``
    brian2cuda (`locallearn.devices.cuda`), in its own environment like ``genn``.

GeNN's order of operations
--------------------------
``session(..., genn_order=True)`` runs a runtime or cpp_standalone network in the order GeNN
executes a step, so that a deterministic network gives GeNN's spikes: brian2genn's default
schedule (``start, synapses, groups, thresholds, resets, end``), no loop-invariant optimisations
(brian2genn turns them off), and every summed variable and synaptic ODE evaluated before the
synaptic events of the step from the previous step's state (GeNN computes them in its "synapse
dynamics" kernel, which runs before the presynaptic update and before the neurons apply the
buffered ``+=`` jumps).

Usage::

    with session("cpp_standalone", seed=1) as sim:
        objects = build(...)              # create Brian2 objects inside the session
        sim.run(objects, 10 * second)     # one run() per network
        data = collect(objects)           # read monitors before the session ends

On exit the device is reset to runtime and every preference changed here is restored, so two
sessions in one process (or in two processes) never interfere.
"""

import contextlib
import logging
import gc
import itertools
import os
import re
import shutil
import sys
import tempfile

from ..errors import ConfigError
from . import registry
from .registry import check_device
from .standalone import SEED_FROM_ENV  # noqa: F401  (re-exported)

__all__ = ["check_device", "session", "Session", "build_root", "genn_session", "GENN_SCHEDULE",
           "DEFAULT_DEVICE", "quiet_brian", "build_slot", "build_cache_root", "SEED_FROM_ENV"]

DEFAULT_DEVICE = "cpp_standalone"
#: brian2genn's default schedule (it sets this preference when activated)
GENN_SCHEDULE = ["start", "synapses", "groups", "thresholds", "resets", "end"]


def build_root():
    """Directory under which fresh per-run build directories are created.

    ``$LOCALLEARN_BUILD_ROOT`` if set, else the system's temporary directory.
    """
    root = os.environ.get("LOCALLEARN_BUILD_ROOT") or tempfile.gettempdir()
    os.makedirs(root, exist_ok=True)
    return root


def build_cache_root():
    """Root of the reusable build slots, or None when disabled (``LOCALLEARN_BUILD_CACHE=0``).

    ``$LOCALLEARN_BUILD_CACHE`` if set to a path, else ``~/.cache/locallearn/builds``.
    """
    value = os.environ.get("LOCALLEARN_BUILD_CACHE", "")
    if value.strip().lower() in ("0", "off", "no", "false"):
        return None
    root = value or os.path.join(os.path.expanduser("~"), ".cache", "locallearn", "builds")
    try:
        os.makedirs(root, exist_ok=True)
    except OSError:
        return None
    return root


@contextlib.contextmanager
def build_slot(key, max_slots=64):
    """An exclusive build directory for ``key``: the first slot ``key-K`` nobody holds.

    A slot is held with an advisory lock (released when the process ends, even by SIGKILL), so
    concurrent runs never share a directory; a later run of the same key reuses the slot and
    Brian2's makefile recompiles only the files whose generated code changed. Falls back to a
    fresh temporary directory when the cache is disabled or every slot is taken.
    """
    import fcntl

    root = build_cache_root()
    fh = None
    path = None
    if root is not None:
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in key) or "build"
        for k in range(max_slots):
            cand = os.path.join(root, f"{safe}-{k}")
            os.makedirs(cand, exist_ok=True)
            f = open(os.path.join(cand, ".lock"), "w")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            fh, path = f, cand
            break
    if path is None:
        with _fresh_dir() as tmp:
            yield tmp
        return
    try:
        yield path
    finally:
        fh.close()


def quiet_brian():
    """Keep Brian2's informational messages out of the user's terminal and temporary files."""
    from brian2 import prefs

    from brian2.utils.logger import BrianLogger

    prefs.logging.file_log = False
    prefs.logging.delete_log_on_exit = True
    logging.getLogger("brian2").setLevel(logging.WARNING)
    handler = BrianLogger.console_handler
    if not any(isinstance(f, _KnownNoise) for f in handler.filters):
        handler.addFilter(_KnownNoise())


class _KnownNoise(logging.Filter):
    """Drop two Brian2 warnings that are expected for these models.

    * "abstract code block that may not be well-defined": the fast rules read ``w`` and
      ``V_post`` and then write ``V_post``; every (pre, post) pair has one synapse, so the order
      of execution cannot change the result.
    * "unused Brian object": objects of a network that was only built to validate the equations
      (and rejected) are garbage-collected without having run.
    """

    def filter(self, record):
        msg = record.getMessage()
        return not ("abstract code block that may not be well-defined" in msg
                    or record.name.endswith("unused_brian_object"))


def _require_reruns():
    """Compile-once reruns use ``device.run(results_directory=..., run_args={...})``, which
    brian2 2.5.4 (the GeNN environment's version) does not have."""
    import brian2

    major, minor = (int(p) for p in brian2.__version__.split(".")[:2])
    if (major, minor) < (2, 6):
        raise ConfigError("device", "compile-once reruns with run_args need brian2 >= 2.6, "
                          f"found {brian2.__version__}")


class Session:
    """An activated device. Create Brian2 objects while it is active, then call `run` (once) or
    `prepare` followed by any number of `run_point` calls.

    Attributes
    ----------
    device : str
        Device name.
    build_dir : str or None
        The project directory (standalone devices only).
    standalone : bool
        The device builds a project on `run` / `prepare` (``Device.standalone``).
    """

    def __init__(self, device, build_dir=None, threads=0, report_period=10.0, genn_order=False,
                 standalone=None, text_report=True):
        self.device = device
        self.standalone = (registry.get(device).standalone if standalone is None
                           else bool(standalone))
        self.text_report = text_report
        self.genn_order = genn_order
        self.build_dir = build_dir
        self.threads = threads
        self.report_period = report_period
        self.network = None
        self.duration = None
        self.built = False
        self.runs = 0

    def _network(self, objects):
        from brian2 import Network

        return objects if isinstance(objects, Network) else Network(*objects)

    def run(self, objects, duration, report=True):
        """Run ``objects`` (a list of Brian2 objects or a Network) once for ``duration``.

        On a standalone device this generates, compiles and runs the project in `build_dir`.
        """
        from brian2 import second

        net = self.network = self._network(objects)
        if self.genn_order:
            _use_genn_order(net)
        net.run(duration, report="text" if report and self.text_report else None,
                report_period=self.report_period * second, namespace={})
        if self.standalone:
            self._build(run=True, report=report)
        self.runs += 1
        return net

    def prepare(self, objects, duration, report=True):
        """Get ready for repeated `run_point` calls: compile once (standalone) or store the
        initial state (runtime). ``report``: compile Brian2's progress report into the binary
        (it reads the process clock before every object on every step, a system call here:
        about 1 s per 3 million object-steps, so it is left out when nobody watches)."""
        from brian2 import second

        net = self.network = self._network(objects)
        if self.genn_order:
            _use_genn_order(net)
        self.duration = duration
        if self.standalone:
            _require_reruns()
            net.run(duration, report="text" if report else None,
                    report_period=self.report_period * second, namespace={})
            self._build(run=False, report=report)
        else:
            net.store("locallearn_initial")
        return net

    def run_point(self, values=None, seed=None, tag="0", report=True):
        """Run the prepared network once more from its initial state with ``values``
        ({VariableView: value}) set first and the random generator seeded with ``seed``.

        cpp_standalone reruns the compiled binary with ``run_args`` (results in
        ``build_dir/results_<tag>``); runtime devices restore the stored state, set the values
        and run again. Read monitors afterwards as usual.
        """
        import brian2
        from brian2 import device, second

        values = values or {}
        if self.standalone:
            if not self.built:
                raise RuntimeError("run_point() needs prepare() first")
            env = device.run_environment_variables
            env.pop("LOCALLEARN_SEED", None)
            os.environ.pop("LOCALLEARN_SEED", None)
            if seed is not None:
                env["LOCALLEARN_SEED"] = str(int(seed))
            device.run(directory=self.build_dir, results_directory=f"results_{tag}",
                       with_output=report, run_args=values)
        else:
            net = self.network
            net.restore("locallearn_initial")
            for view, value in values.items():
                view[:] = value
            if seed is not None:
                brian2.seed(int(seed))
            net.run(self.duration, report="text" if report else None,
                    report_period=self.report_period * second, namespace={})
        self.runs += 1

    def _build(self, run, report=True):
        from brian2 import device

        _deterministic_sources(device)
        device.build(directory=self.build_dir, compile=True, run=run, with_output=report)
        self.built = True


def _deterministic_sources(device):
    """Make the standalone sources of an unchanged network identical from process to process.

    Brian2 queues one line per clock (its ``t``/``timestep`` resets in ``main.cpp``) in the
    iteration order of a set of clocks, which follows object addresses: ``main.cpp`` then
    differs on every run and is recompiled (seconds). (Its templates already sort the clocks by
    name.) Sorting those independent assignments by name lets a rerun regenerate identical
    files, so the build cache compiles nothing."""
    def clock_set(item):
        return item[0] == "set_by_single_value" and \
            re.search(r"clock(_\d+)?_(t|timestep|dt)$", str(item[1][0])) is not None

    device.main_queue[:] = [
        item for is_clock, block in itertools.groupby(device.main_queue, key=clock_set)
        for item in (sorted(block, key=lambda it: str(it[1][0])) if is_clock else block)]


def _use_genn_order(net):
    """Move summed-variable updaters and synaptic ODEs before the synaptic events (see the
    module docstring, "GeNN's order of operations"); the schedule is set by the session."""
    from brian2 import Synapses

    for obj in net.objects:
        if isinstance(obj, Synapses):
            if obj.state_updater is not None:
                obj.state_updater.when = "before_synapses"
                obj.state_updater.order = 0
            for upd in obj.summed_updaters.values():
                upd.when = "before_synapses"
                upd.order = 1  # GeNN appends the summed expression after the synaptic ODE


@contextlib.contextmanager
def genn_session(build_dir, use_gpu=False, build_only=False):
    """Activate brian2genn for one network that builds and runs on ``run()``.

    Only for the worker process in the GeNN environment (:mod:`locallearn.genn_worker`):
    brian2genn changes global preferences (schedule, loop-invariant optimisations) that this
    process then never uses for another device. ``use_gpu`` False: GeNN's single-threaded CPU
    backend (``genn-buildmodel.sh -c``); True: the CUDA backend with the GPU settings of
    `locallearn.devices.genn.gpu_settings`. ``build_only``: generate and compile, do not run.
    """
    import brian2genn  # noqa: F401  (registers the "genn" device)
    from brian2 import prefs, set_device, start_scope, defaultclock

    from .genn import apply_gpu_settings, gpu_settings

    quiet_brian()
    start_scope()
    dt_before = defaultclock.dt
    if use_gpu:
        apply_gpu_settings(prefs, gpu_settings())
    set_device("genn", directory=build_dir, use_GPU=bool(use_gpu), build_on_run=True,
               run=not build_only)
    try:
        yield Session("genn", build_dir, standalone=False, text_report=False)
    finally:
        defaultclock.dt = dt_before


@contextlib.contextmanager
def session(device="cpp_standalone", seed=None, threads=0, build_dir=None, cache_key=None,
            report_period=10.0, genn_order=False):
    """Activate ``device`` for one network; restore every preference afterwards.

    Parameters
    ----------
    device : str
        A registered in-process device (``numpy``, ``cython``, ``cpp_standalone``, ...; the
        out-of-process ones such as ``genn`` run through their ``Device.execute``).
    seed : int or None
        Seed for Brian2's random number generator (noise terms, ``rand()``).
    threads : int
        OpenMP threads for cpp_standalone (0: no OpenMP, the bit-reproducible default).
    build_dir : str or None
        Use this directory for the C++ project (the caller guarantees exclusive use).
    cache_key : str or None
        Without ``build_dir``: use an exclusive reusable build slot for this key (see
        `build_slot`); None: a fresh temporary directory, removed afterwards.
    report_period : float
        Seconds of wall time between progress lines.
    genn_order : bool
        Run in GeNN's order of operations (see the module docstring), to compare a
        deterministic network with GeNN spike for spike.
    """
    check_device(device)
    dev = registry.get(device)
    if not dev.in_process:
        raise ConfigError("device", f"the {device} device runs in its own process "
                          "(locallearn.protocol.run_protocol calls its execute)")
    quiet_brian()
    with contextlib.ExitStack() as stack:
        if dev.standalone and build_dir is None:
            build_dir = stack.enter_context(build_slot(cache_key) if cache_key
                                            else _fresh_dir())
        with _activated(device, seed, threads, build_dir, genn_order) as sess:
            sess.report_period = report_period
            yield sess


@contextlib.contextmanager
def _fresh_dir():
    path = tempfile.mkdtemp(prefix="locallearn-build-", dir=build_root())
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


_FROZEN = []


def _collect():
    """``gc.collect()``, cheap after the first call: what is alive then (the imported modules:
    Brian2, SymPy, pandas, ...) is moved to the permanent generation (``gc.freeze``), so later
    collections scan only the objects made since (a full collection costs ~0.2 s per call).
    The first call collects only when Brian2 objects are alive (the garbage this is for: an
    earlier network's code objects); otherwise there is nothing of Brian2's to free."""
    if not _FROZEN:
        from brian2.core.base import BrianObject

        if any(True for _ in BrianObject.__instances__()):
            gc.collect()
        gc.freeze()
        _FROZEN.append(True)
    else:
        gc.collect()


@contextlib.contextmanager
def _activated(device, seed, threads, build_dir, genn_order=False):
    from brian2 import prefs, get_device, start_scope, defaultclock
    from brian2.devices.device import reset_device

    record = registry.get(device)
    prefs._backup()
    dt_before = defaultclock.dt  # models set defaultclock.dt (one clock, as GeNN needs)
    # Brian2 names code objects "<owner>_stateupdater_codeobject*" and appends _1, _2, ... while
    # an earlier network's code objects are still alive (reference cycles); collect them so that
    # a second build in one process generates the same file names and reuses the compiled ones.
    _collect()
    sess = None
    try:
        start_scope()
        if genn_order:
            prefs.core.network.default_schedule = list(GENN_SCHEDULE)
            prefs.codegen.loop_invariant_optimisations = False
        record.activate(build_dir=build_dir, threads=int(threads), seed=seed)
        sess = Session(device, build_dir, threads=threads, genn_order=genn_order)
        yield sess
    finally:
        if sess is not None:
            sess.network = None  # let the network and its code objects go (see gc above)
        dev = get_device()
        if record.standalone:
            dev.reinit()
            dev.activate(build_on_run=False)
        reset_device()
        _collect()
        # set_device pushed the runtime device; drop it so the stack does not grow per session
        sys.modules["brian2.devices.device"].previous_devices.clear()
        prefs._restore()
        defaultclock.dt = dt_before
