"""The ``genn`` device: brian2genn in its own environment and process (registered here).

brian2genn 1.7.0 pins ``brian2<2.6`` (and so ``numpy<2``, ``cython<3.1``), which the main
environment cannot hold, and it changes global Brian2 preferences (the default schedule,
loop-invariant optimisations). A GeNN run therefore happens in a subprocess of a separate
virtual environment (``make genn-env`` creates ``.venv-genn``):

1. `run_in_genn_env` writes the validated configuration (JSON) to a fresh directory and starts
   ``<genn python> -m locallearn.genn_worker``;
2. the worker (in the GeNN environment, under brian2 2.5.4) prepares the plan from the same seed,
   activates brian2genn (`locallearn.devices.genn_session`), builds the protocol's network with the
   protocol's own ``build``, runs it once and writes what ``collect`` returns (NPZ + JSON index);
3. the parent reads the raw arrays back, checks that the worker drew the same initial weights,
   and hands them to the protocol's ``analyse`` in the main environment.

What is needed
--------------
``GENN_PATH``
    A GeNN 4.x source tree (built from source: see README, "GeNN"); its ``version.txt`` is read.
``LOCALLEARN_GENN_PYTHON``
    The GeNN environment's interpreter; default ``<repository>/.venv-genn/bin/python``.
``LOCALLEARN_GENN_GPU``
    ``1``/``0`` forces GeNN's CUDA backend on or off; default: on when ``CUDA_PATH`` (or
    ``/usr/local/cuda``) and an NVIDIA device (``nvidia-smi -L``) are present, else CPU-only
    (``use_GPU=False``).
``LOCALLEARN_GENN_DEVICE``
    GPU index for the CUDA backend (default: GeNN picks the device and block sizes by
    occupancy, compiling and loading its kernels on each GPU first).
``LOCALLEARN_GENN_BLOCK_SIZE``
    One CUDA block size (threads, a multiple of 32 in 32-1024) for every GeNN kernel, which
    skips GeNN's occupancy search (its kernels are compiled and loaded once per GPU per
    build); the device is then ``LOCALLEARN_GENN_DEVICE`` or 0.
cuRAND: where the toolkit lacks ``curand_kernel.h`` (the CUDA 13.0 image here), the headers of
pip's ``nvidia-curand`` (in ``requirements-genn.txt``) are added to GeNN's nvcc flags.
``LOCALLEARN_KEEP_GENN``
    ``1`` keeps the worker's directory (generated GeNN project, log) after a successful run.

Reproducibility: brian2genn 1.7 draws its noise from an unseeded generator, so two GeNN runs of
the same configuration and seed differ (the seed still fixes the initial weights and inputs that
``prepare`` draws). Compare GeNN runs with other devices statistically, never bit for bit.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from ..errors import ConfigError, DeviceError
from .registry import Device, register

__all__ = ["genn_path", "genn_version", "genn_python", "check_genn_available", "use_gpu",
           "gpu_settings", "apply_gpu_settings",
           "run_in_genn_env", "save_raw", "load_raw", "plan_arrays", "REPO_ROOT"]

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def genn_path():
    """``$GENN_PATH`` or None."""
    return os.environ.get("GENN_PATH") or None


def genn_version(path):
    """The version string in ``path/version.txt`` (None if there is none)."""
    try:
        with open(os.path.join(path, "version.txt")) as fh:
            return fh.read().strip()
    except OSError:
        return None


def genn_python():
    """The GeNN environment's interpreter: ``$LOCALLEARN_GENN_PYTHON`` or ``.venv-genn``."""
    return (os.environ.get("LOCALLEARN_GENN_PYTHON")
            or os.path.join(REPO_ROOT, ".venv-genn", "bin", "python"))


def check_genn_available():
    """Raise `ConfigError` (one line, naming what to set) unless GeNN 4.x and the GeNN
    environment are there. Cheap: reads files, starts nothing."""
    path = genn_path()
    see = "see README, section 'GeNN'"
    if path is None:
        raise ConfigError("GENN_PATH", "not set: the genn device needs GeNN 4.x built from "
                          f"source; export GENN_PATH=/path/to/genn ({see})")
    if not os.path.isdir(path):
        raise ConfigError("GENN_PATH", f"{path!r} is not a directory ({see})")
    version = genn_version(path)
    if version is None or not os.path.isfile(os.path.join(path, "bin", "genn-buildmodel.sh")):
        raise ConfigError("GENN_PATH", f"{path!r} is not a GeNN source tree (no version.txt "
                          f"or bin/genn-buildmodel.sh; {see})")
    if version.split(".")[0] != "4":
        raise ConfigError("GENN_PATH", f"GeNN 4.x is needed (brian2genn 1.7 supports no other "
                          f"major version), found {version} in {path!r}")
    py = genn_python()
    if not (os.path.isfile(py) and os.access(py, os.X_OK)):
        raise ConfigError("LOCALLEARN_GENN_PYTHON", f"no GeNN environment at {py!r}: run "
                          "'make genn-env' or point LOCALLEARN_GENN_PYTHON at its python")
    gpu_settings()  # a bad LOCALLEARN_GENN_DEVICE / _BLOCK_SIZE: one line, before any build
    return path


def gpu_settings():
    """GeNN's CUDA device and block size from the environment (see module docstring):
    ``dict(device=int or None, block_size=int or None)``. Raises `ConfigError` (one line) on
    a bad value."""
    out = {}
    for key, name, low, high in (("device", "LOCALLEARN_GENN_DEVICE", 0, 63),
                                 ("block_size", "LOCALLEARN_GENN_BLOCK_SIZE", 32, 1024)):
        text = os.environ.get(name, "").strip()
        try:
            value = int(text) if text else None
        except ValueError:
            value = -1
        if value is not None and not (low <= value <= high
                                      and (key != "block_size" or value % 32 == 0)):
            what = "a multiple of 32 in 32-1024" if key == "block_size" else "an integer 0-63"
            raise ConfigError(name, f"must be {what} (got {text!r})")
        out[key] = value
    return out


def apply_gpu_settings(prefs, settings):
    """Set brian2genn's CUDA-backend preferences from `gpu_settings` (worker side) and add
    pip's cuRAND headers where the toolkit has none."""
    from .cuda import curand_dirs

    backend = prefs.devices.genn.cuda_backend
    if settings["device"] is not None or settings["block_size"] is not None:
        backend.device_select = "MANUAL"
        backend.manual_device = settings["device"] or 0
    if settings["block_size"] is not None:
        backend.blocksize_select_method = "MANUAL"
        for kind in ("pre_neuron_reset", "pre_synapse_reset", "neuron", "synapse", "learning",
                     "synapse_dynamics", "init", "init_sparse"):
            setattr(backend, f"{kind}_blocksize", settings["block_size"])
    dirs = curand_dirs(os.environ.get("CUDA_PATH"))
    if dirs is not None:
        backend.extra_compile_args_nvcc = list(backend.extra_compile_args_nvcc) + [
            f"-I{dirs[0]}"]


def use_gpu():
    """Whether GeNN should use its CUDA backend (see module docstring)."""
    forced = os.environ.get("LOCALLEARN_GENN_GPU", "").strip().lower()
    if forced in ("1", "yes", "true", "on"):
        return True
    if forced in ("0", "no", "false", "off"):
        return False
    cuda = os.environ.get("CUDA_PATH") or "/usr/local/cuda"
    if not os.path.isfile(os.path.join(cuda, "bin", "nvcc")):
        return False
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


# --------------------------------------------------------------------------------------------
# Raw arrays between the two environments: one NPZ (no pickles) and a JSON index of the tree
# --------------------------------------------------------------------------------------------
def save_raw(raw, path):
    """Write a nested dict of arrays (``collect``'s result) to ``path`` (.npz) + ``path.json``."""
    arrays, dicts = {}, []

    def walk(d, prefix):
        dicts.append(prefix)
        for key, value in d.items():
            if "/" in key:
                raise ValueError(f"raw key {key!r} contains '/'")
            full = f"{prefix}/{key}" if prefix else key
            if isinstance(value, dict):
                walk(value, full)
            else:
                arrays[full] = np.asarray(value)

    walk(raw, "")
    keys = sorted(arrays)
    np.savez(path, **{f"a{k}": arrays[name] for k, name in enumerate(keys)})
    with open(path + ".json", "w") as fh:
        json.dump(dict(arrays=keys, dicts=dicts), fh)


def load_raw(path):
    """Inverse of `save_raw`."""
    with open(path + ".json") as fh:
        index = json.load(fh)
    raw = {}

    def node(name):
        d = raw
        for part in [p for p in name.split("/") if p]:
            d = d.setdefault(part, {})
        return d

    for name in index["dicts"]:
        node(name)
    with np.load(path if path.endswith(".npz") else path + ".npz", allow_pickle=False) as data:
        for k, name in enumerate(index["arrays"]):
            parent, _, leaf = name.rpartition("/")
            node(parent)[leaf] = data[f"a{k}"]
    return raw


# --------------------------------------------------------------------------------------------
# The parent side
# --------------------------------------------------------------------------------------------
def plan_arrays(plan):
    """The arrays ``prepare`` drew from the seed (the parent compares the worker's with its own)."""
    out = {"F": np.asarray(plan.F, float)}
    for pp in getattr(plan, "populations", []):
        out[f"W_fast0_{pp.name}"] = np.asarray(pp.W_fast0, float)
        if getattr(pp, "W_slow0", None) is not None:
            out[f"W_slow0_{pp.name}"] = np.asarray(pp.W_slow0, float)
    return out


def _last_line(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return lines[-1] if lines else "(no output)"


def run_in_genn_env(protocol_name, cfg, seed, plan=None, report=True, timeout=None, info=None,
                    build_only=False, build_dir=None):
    """Run protocol ``protocol_name`` with ``cfg`` and ``seed`` on GeNN; return ``collect``'s
    raw dict (None with ``build_only``: the GeNN project is generated and compiled, nothing
    runs; ``build_dir`` then keeps it, default: a directory removed afterwards).

    ``plan``: the parent's ``prepare(cfg, seed)``; the initial weights the worker drew must
    equal it (both environments use NumPy's ``default_rng``). ``info`` (a dict) receives the
    GeNN environment's versions, GeNN's version, ``genn_use_gpu`` and the build and simulation
    times (``genn_*`` keys). ``timeout``: seconds (None: no limit).

    Raises `ConfigError` for what the worker rejects as input and `DeviceError` (one line,
    with the log's path) when the GeNN build or run fails or times out; the worker's directory
    is kept for inspection then.
    """
    from ..params import config_to_dict
    from .session import build_root

    check_genn_available()
    work = tempfile.mkdtemp(prefix="locallearn-genn-", dir=build_root())
    ok = False
    try:
        cfg_path = os.path.join(work, "config.json")
        with open(cfg_path, "w") as fh:
            json.dump(config_to_dict(cfg), fh)
        gpu = use_gpu()
        raw_path = os.path.join(work, "raw.npz")
        cmd = [genn_python(), "-m", "locallearn.genn_worker", "--protocol", protocol_name,
               "--config", cfg_path, "--seed", str(int(seed)), "--build-dir",
               os.path.abspath(build_dir or os.path.join(work, "build")), "--out", raw_path,
               "--gpu" if gpu else "--cpu", "--expect-root", REPO_ROOT]
        if build_only:
            cmd.append("--build-only")
        log_path = os.path.join(work, "worker.log")
        if report:
            print(f"genn: building {'' if build_only else 'and running '}{protocol_name} "
                  f"({'GPU' if gpu else 'CPU-only'}) in {work}", file=sys.stderr, flush=True)
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # the GeNN environment imports its own packages
        if gpu and not env.get("CUDA_PATH"):
            env["CUDA_PATH"] = "/usr/local/cuda"  # where use_gpu() found nvcc
        with open(log_path, "w") as log:
            try:
                proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                      cwd=work, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise DeviceError(f"genn: the worker did not finish within {timeout} s "
                                  f"(log: {log_path})") from None
        err_path = os.path.join(work, "error.txt")
        if proc.returncode != 0:
            if os.path.isfile(err_path):
                with open(err_path) as fh:
                    kind, _, msg = fh.read().strip().partition("\t")
                if kind == "config":
                    param, _, text = msg.partition("\t")
                    ok = True  # bad input: nothing worth keeping
                    raise ConfigError(param, text)
                raise DeviceError(f"genn: {msg} (log: {log_path})")
            with open(log_path) as fh:
                last = _last_line(fh.read())
            raise DeviceError(f"genn: worker exited with status {proc.returncode}: {last} "
                              f"(log: {log_path})")
        if info is not None and os.path.isfile(raw_path + ".info.json"):
            with open(raw_path + ".info.json") as fh:
                info.update(json.load(fh))
        if build_only:
            ok = True
            return None
        raw = load_raw(raw_path)
        drawn = raw.pop("_plan", {})
        if plan is not None:
            for key, value in plan_arrays(plan).items():
                if key not in drawn or not np.array_equal(drawn[key], value):
                    raise DeviceError(f"genn: the GeNN environment drew other initial values "
                                      f"({key}) from seed {seed} than this one")
        ok = True
        return raw
    finally:
        keep = os.environ.get("LOCALLEARN_KEEP_GENN", "").strip() in ("1", "yes", "true")
        if ok and not keep:
            shutil.rmtree(work, ignore_errors=True)


register(Device(
    name="genn", doc="brian2genn (GeNN 4.x, CPU or CUDA backend) in its own environment",
    in_process=False, execute=run_in_genn_env, reruns=False, seeded=False, custom_events=False,
    one_clock=True, gpu=True, parallel=False, check_available=check_genn_available))
