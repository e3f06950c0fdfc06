"""GPU code generated and compiled with nvcc for sm_90, never run (issue 12): catches code that a
GPU compiler refuses (the ``sqrt(2)``-class bugs) on a machine without a GPU.

Run them with ``make test-gpu-build`` (``-m gpu_build``: the nvcc builds take minutes, so they
are also marked slow). Each test is skipped, with the reason, where what it needs is missing:
nvcc (``CUDA_PATH`` or ``/usr/local/cuda``), the cuda environment (``make cuda-env``),
``GENN_PATH``.
"""

import json
import os
import shutil
import subprocess

import pytest

from conftest import REPO
from locallearn.devices.cuda import cuda_home

pytestmark = pytest.mark.gpu_build

CUDA_PY = os.path.join(REPO, ".venv-cuda", "bin", "python")
PATCH = os.path.join(REPO, "patches", "genn-4.9.0-cuda13.patch")


def _needs_cuda_env():
    if cuda_home() is None:
        pytest.skip("no nvcc (set CUDA_PATH to a CUDA 12/13 toolkit)")
    if not os.access(CUDA_PY, os.X_OK):
        pytest.skip("no cuda environment at .venv-cuda: run 'make cuda-env'")


def _cuda_build(tmp_path, protocol, *sets):
    out = tmp_path / "build"
    cmd = [CUDA_PY, os.path.join(REPO, "bench", "gpu_build.py"), protocol, "--quick",
           "--arch", "9.0", "--build-dir", str(out)]
    for s in sets:
        cmd += ["--set", s]
    env = dict(os.environ, LOCALLEARN_BUILD_CACHE="0")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    makefile = (out / "makefile").read_text()
    assert "sm_90" in makefile and "-std=c++17" in makefile
    assert (out / "main").is_file() and os.access(out / "main", os.X_OK)
    return info


@pytest.mark.slow
def test_brian2cuda_builds_the_quick_autoencoder_for_sm90(tmp_path):
    """brian2cuda generates the quick autoencoder (events one-spike rule: custom events on the
    GPU) and nvcc compiles and links it for sm_90; nothing runs. Measured: 709 s on this loaded
    2-core machine (nvcc is slow), hence slow; ``make test-gpu-build`` runs it."""
    _needs_cuda_env()
    info = _cuda_build(tmp_path, "autoencoder", "wta_count=events")
    assert info["device"] == "cuda" and info["arch"] == "9.0"


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["dynamics", "fastrules"])
def test_brian2cuda_builds_the_other_spiking_protocols(tmp_path, protocol):
    """The other spiking protocols (summed one-spike rule) compile for sm_90 too."""
    _needs_cuda_env()
    _cuda_build(tmp_path, protocol)


def test_genn_cuda_backend_compiles_against_this_toolkit(tmp_path):
    """GeNN 4.9's CUDA backend (optimiser.cc, where CUDA 13 changed ``cuCtxCreate``) compiles
    against this toolkit once ``patches/genn-4.9.0-cuda13.patch`` is applied (to a copy here;
    ``make genn-patch`` applies it to GENN_PATH). Without the patch CUDA 13 refuses it."""
    genn = os.environ.get("GENN_PATH")
    cuda = cuda_home()
    if cuda is None:
        pytest.skip("no nvcc (set CUDA_PATH to a CUDA 12/13 toolkit)")
    if not genn or not os.path.isfile(os.path.join(genn, "src", "genn", "backends", "cuda",
                                                   "optimiser.cc")):
        pytest.skip("GENN_PATH is not set to a GeNN 4.9 source tree")
    if shutil.which("g++") is None or shutil.which("patch") is None:
        pytest.skip("no g++ or patch")
    rel = os.path.join("src", "genn", "backends", "cuda", "optimiser.cc")
    (tmp_path / os.path.dirname(rel)).mkdir(parents=True)
    shutil.copy(os.path.join(genn, rel), tmp_path / rel)
    inc = os.path.join(genn, "include", "genn")
    cmd = ["g++", "-std=c++17", "-fsyntax-only", f"-I{inc}/genn", f"-I{inc}/backends/cuda",
           f"-I{inc}/third_party", f"-I{os.path.join(genn, 'src', 'genn', 'backends', 'cuda')}",
           f"-I{os.path.join(cuda, 'include')}", str(tmp_path / rel)]
    src = (tmp_path / rel).read_text()
    if "CUDA_VERSION >= 13000" not in src:  # GENN_PATH may already be patched
        if _cuda_major(cuda) >= 13:  # the patch is needed: unpatched, CUDA 13 refuses it
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            assert proc.returncode != 0 and "cuCtxCreate" in proc.stderr
        subprocess.run(["patch", "-p1", "-i", PATCH], cwd=tmp_path, check=True,
                       capture_output=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _cuda_major(cuda):
    """Major version of the toolkit at ``cuda`` (from ``nvcc --version``; 0 if unknown)."""
    out = subprocess.run([os.path.join(cuda, "bin", "nvcc"), "--version"], capture_output=True,
                         text=True).stdout
    for word in out.replace(",", " ").split():
        if word.startswith("V") and word[1:2].isdigit():
            return int(word[1:].split(".")[0])
    return 0
