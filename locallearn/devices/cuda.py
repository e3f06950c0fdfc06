"""The ``cuda`` device: brian2cuda's ``cuda_standalone`` (a CUDA project built with nvcc).

brian2cuda 1.0b1 pins ``brian2==2.10.1`` (Python >= 3.12), so it runs from its own environment
(``make cuda-env`` creates ``.venv-cuda``; run ``.venv-cuda/bin/python -m locallearn run ...
--device cuda``). There it is an in-process standalone device like ``cpp_standalone``: seeded
(brian2cuda seeds cuRAND from Brian2's seed), custom events (the events one-spike rule), one run
per build (no ``$LOCALLEARN_SEED`` reseeding of the compiled binary, so no compile-once reruns).

Settings (environment):

``LOCALLEARN_CUDA_ARCH``
    Compute capability to compile for, e.g. ``9.0`` (H100/H200: sm_90). Set it to build without
    a GPU (GPU detection is then off); default: brian2cuda detects the GPU.
``LOCALLEARN_CUDA_DEVICE``
    GPU index (default 0 when the architecture is given, else brian2cuda's choice).
cuRAND: where the toolkit lacks ``curand_kernel.h`` (the CUDA 13.0 image here), the headers and
library of pip's ``nvidia-curand`` (in ``requirements-cuda.txt``) are used.

``LOCALLEARN_CUDA_STD``
    C++ standard passed to nvcc (default ``c++17``: CUDA 12.x/13 headers need it; brian2cuda's
    makefile and Brian2's gcc flags ask for ``c++11``; nvcc takes the last ``-std``).
"""

import importlib.util
import os
import shutil

from ..errors import ConfigError
from .registry import Device, register

__all__ = ["check_cuda_available", "activate_cuda", "cuda_home", "curand_dirs"]


def cuda_home():
    """``$CUDA_PATH``, else ``/usr/local/cuda`` when it has ``bin/nvcc``, else None."""
    for cand in (os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if cand and os.path.isfile(os.path.join(cand, "bin", "nvcc")):
            return cand
    nvcc = shutil.which("nvcc")
    return os.path.dirname(os.path.dirname(nvcc)) if nvcc else None


def curand_dirs(cuda=None):
    """(include dir, library dir) of cuRAND: the toolkit's when it has ``curand_kernel.h``,
    else those of pip's ``nvidia-curand`` package (``nvidia/cu*/``), else None."""
    cuda = cuda or cuda_home()
    if cuda and os.path.isfile(os.path.join(cuda, "include", "curand_kernel.h")):
        return None  # the toolkit has it: nothing to add
    spec = importlib.util.find_spec("nvidia")
    for root in (spec.submodule_search_locations or []) if spec else []:
        for sub in sorted(os.listdir(root), reverse=True):
            inc, lib = os.path.join(root, sub, "include"), os.path.join(root, sub, "lib")
            if os.path.isfile(os.path.join(inc, "curand_kernel.h")):
                return inc, lib
    return None


def _curand_flags(build_dir, dirs):
    """Compiler and linker settings for a cuRAND outside the toolkit. The wheel ships only
    ``libcurand.so.N``; ``-lcurand`` needs ``libcurand.so``, so a link is made in the build
    directory."""
    from brian2 import prefs

    inc, lib = dirs
    versioned = sorted(f for f in os.listdir(lib) if f.startswith("libcurand.so"))
    link_dir = os.path.join(os.path.abspath(build_dir), "curand_lib")
    os.makedirs(link_dir, exist_ok=True)
    link = os.path.join(link_dir, "libcurand.so")
    if versioned and not os.path.exists(link):
        os.symlink(os.path.join(lib, versioned[-1]), link)
    backend = prefs.devices.cuda_standalone.cuda_backend
    backend.extra_compile_args_nvcc = list(backend.extra_compile_args_nvcc) + [f"-I{inc}"]
    prefs.codegen.cpp.library_dirs = list(prefs.codegen.cpp.library_dirs) + [link_dir]
    prefs.codegen.cpp.runtime_library_dirs = list(prefs.codegen.cpp.runtime_library_dirs) + [lib]


def check_cuda_available():
    """Raise `ConfigError` (one line) unless brian2cuda and nvcc are there."""
    if importlib.util.find_spec("brian2cuda") is None:
        raise ConfigError("device", "cuda needs brian2cuda (brian2 2.10.1, Python >= 3.12): run "
                          "'make cuda-env' and then .venv-cuda/bin/python -m locallearn ... "
                          "(see README, section 'GPU')")
    if cuda_home() is None:
        raise ConfigError("CUDA_PATH", "no nvcc found: set CUDA_PATH to a CUDA 12/13 toolkit")


def activate_cuda(build_dir, threads=0, seed=None):
    """Activate brian2cuda's ``cuda_standalone`` into ``build_dir`` (see module docstring)."""
    import brian2
    import brian2cuda  # noqa: F401  (registers the cuda_standalone device)
    from brian2 import prefs, set_device

    set_device("cuda_standalone", directory=build_dir, build_on_run=False)
    backend = prefs.devices.cuda_standalone.cuda_backend
    backend.cuda_path = cuda_home()
    arch = os.environ.get("LOCALLEARN_CUDA_ARCH", "").strip()
    if arch:
        backend.detect_gpus = False
        backend.compute_capability = float(arch)
        backend.gpu_id = int(os.environ.get("LOCALLEARN_CUDA_DEVICE", "0"))
    elif os.environ.get("LOCALLEARN_CUDA_DEVICE"):
        backend.gpu_id = int(os.environ["LOCALLEARN_CUDA_DEVICE"])
    std = os.environ.get("LOCALLEARN_CUDA_STD", "c++17").strip()
    backend.extra_compile_args_nvcc = list(backend.extra_compile_args_nvcc) + [f"-std={std}"]
    # the host compiler gets Brian2's gcc flags through -Xcompiler: the same standard there
    gcc = [f for f in prefs.codegen.cpp.extra_compile_args_gcc if not f.startswith("-std=")]
    prefs.codegen.cpp.extra_compile_args_gcc = gcc + [f"-std={std}"]
    prefs.devices.cpp_standalone.extra_make_args_unix = ["-j", str(os.cpu_count() or 1)]
    dirs = curand_dirs()
    if dirs is not None:
        _curand_flags(build_dir, dirs)
    if seed is not None:
        brian2.seed(int(seed))


register(Device(name="cuda", doc="brian2cuda cuda_standalone (needs its own environment, "
                "make cuda-env)", activate=activate_cuda, standalone=True, reruns=False,
                gpu=True, parallel=False, check_available=check_cuda_available))
