"""GPU code generated and compiled with nvcc for sm_90, never run (issue 12): catches code that a
GPU compiler refuses (the ``sqrt(2)``-class bugs) on a machine without a GPU.

Part of ``make test`` where nvcc exists (``make test`` then creates ``.venv-cuda`` for
brian2cuda, and ``.venv-genn`` where ``GENN_PATH`` is set); ``make test-gpu-build`` runs only
these. Every spiking protocol's quick configuration is built on both GPU devices: brian2cuda
(``cuda``) and GeNN's CUDA backend (``genn``, with ``bench/nogpu_cuda.c`` standing in for the
missing driver; see ``bench/gpu_build.py``). Each test is skipped, with the reason, where what it
needs is missing: nvcc (``CUDA_PATH`` or ``/usr/local/cuda``), the cuda environment (``make
cuda-env``), ``GENN_PATH`` and the GeNN environment (``make genn-env``).

Measured here (2 cores, 2026-12-01): brian2cuda 4 minutes per protocol on an idle machine (33
nvcc compilations of 7-13 s each), 6-10 minutes while the machine was shared (25 minutes for
the three, load 4); GeNN about 30 s per protocol (92 s for its five tests).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from locallearn.devices.cuda import cuda_home

pytestmark = [pytest.mark.gpu_build, pytest.mark.timeout(1800)]

CUDA_PY = os.path.join(REPO, ".venv-cuda", "bin", "python")
GENN_PY = os.path.join(REPO, ".venv-genn", "bin", "python")
PATCH = os.path.join(REPO, "patches", "genn-4.9.0-cuda13.patch")
#: every spiking protocol, with the one-spike rule each device is built with: brian2cuda gets
#: the events rule for the autoencoder (custom events on the GPU), GeNN the summed count (it
#: has no custom events)
SPIKING = ["autoencoder", "dynamics", "fastrules"]


def _needs(device):
    if cuda_home() is None:
        pytest.skip("no nvcc (set CUDA_PATH to a CUDA 12/13 toolkit)")
    if device == "cuda" and not os.access(CUDA_PY, os.X_OK):
        pytest.skip("no cuda environment at .venv-cuda: run 'make cuda-env' (needs a Python "
                    ">= 3.12)")
    if device == "genn":
        genn = os.environ.get("GENN_PATH")
        if not genn or not os.path.isfile(os.path.join(genn, "bin", "genn-buildmodel.sh")):
            pytest.skip("GENN_PATH is not set to a GeNN 4.9 source tree")
        src = os.path.join(genn, "src", "genn", "backends", "cuda", "optimiser.cc")
        if _cuda_major(cuda_home()) >= 13 and "CUDA_VERSION >= 13000" not in open(src).read():
            pytest.skip("GeNN at GENN_PATH lacks the CUDA 13 patch: run 'make genn-patch'")
        if not os.access(GENN_PY, os.X_OK):
            pytest.skip("no GeNN environment at .venv-genn: run 'make genn-env'")


def _gpu_build(tmp_path, device, protocol, *sets):
    """bench/gpu_build.py in the device's environment; returns (process, build directory)."""
    out = tmp_path / "build"
    python = CUDA_PY if device == "cuda" else sys.executable
    cmd = [python, os.path.join(REPO, "bench", "gpu_build.py"), protocol, "--quick",
           "--device", device, "--arch", "9.0", "--build-dir", str(out)]
    for s in sets:
        cmd += ["--set", s]
    env = dict(os.environ, LOCALLEARN_BUILD_CACHE="0")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1700, env=env, cwd=REPO)
    return proc, out


@pytest.mark.parametrize("device", ["cuda", "genn"])
@pytest.mark.parametrize("protocol", SPIKING)
def test_every_spiking_protocol_compiles_for_sm90(tmp_path, device, protocol):
    """The quick configuration is generated and compiled (and linked) for sm_90; nothing runs."""
    _needs(device)
    sets = ["wta_count=events"] if (device, protocol) == ("cuda", "autoencoder") else []
    proc, out = _gpu_build(tmp_path, device, protocol, *sets)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["device"] == device and info["arch"] == "9.0"
    if device == "cuda":
        makefile = (out / "makefile").read_text()
        assert "sm_90" in makefile and "-std=c++17" in makefile
        binary = out / "main"
    else:  # GeNN: the generated CUDA runner (nvcc, sm_90) and brian2genn's main linked to it
        makefile = (out / "genn" / "magicnetwork_model_CODE" / "Makefile").read_text()
        assert "-arch sm_90" in makefile
        assert (out / "genn" / "magicnetwork_model_CODE" / "librunner.so").is_file()
        binary = out / "genn" / "main"
    assert binary.is_file() and os.access(binary, os.X_OK)


def test_genn_cuda_build_refuses_an_integer_sqrt(tmp_path):
    """The check can fail: ``sqrt(2)`` (an int argument: a host-only overload in CUDA) in the
    target's equations is refused by nvcc in GeNN's neuron kernel, while the same equations
    with ``sqrt(2.0)`` build (the autoencoder's sine target, `SINE_TARGET_EQS`)."""
    _needs("genn")
    from locallearn.models.spiking import SINE_TARGET_EQS

    assert "sqrt(2.0)" in SINE_TARGET_EQS
    bad = SINE_TARGET_EQS.replace("sqrt(2.0)", "sqrt(2)")
    proc, _ = _gpu_build(tmp_path, "genn", "autoencoder", f"target_eqs={bad}", "fano_trials=0")
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "sqrt<int>" in proc.stderr and "__global__" in proc.stderr, proc.stderr[-2000:]


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
