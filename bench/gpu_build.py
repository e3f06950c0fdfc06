"""Generate and compile one protocol's network for a GPU device without running it.

    python bench/gpu_build.py PROTOCOL [--quick] [--set KEY=VALUE ...] [--device cuda|genn]
        [--arch 9.0] [--build-dir DIR]

``cuda`` (brian2cuda): run with its environment, ``.venv-cuda/bin/python``. The network is
built exactly as a run builds it (validation, ``prepare``, the protocol's ``build``), then the
device generates the project and nvcc compiles it for compute capability ``--arch`` (GPU
detection off, so no GPU is needed); nothing runs.

``genn`` (brian2genn, GeNN's CUDA backend): run with the main environment; needs ``GENN_PATH``
and ``.venv-genn`` (the worker builds there with ``--build-only``). GeNN's code generator asks
the CUDA runtime for the device's properties and links the driver library; where no driver is
installed, ``bench/nogpu_cuda.c`` (compiled here into the build directory) stands in for it and
describes one device of compute capability ``--arch`` (an H200 for 9.0). Block sizes are fixed
(``LOCALLEARN_GENN_BLOCK_SIZE``, default 64 here), since GeNN's occupancy search runs kernels.
A project built against the stand-in is for checking compilation only: never run it.

Prints one JSON line: device, protocol, arch, seconds and the build directory. Exit status 0 on
success, 1 with the compiler's last lines.
"""

import argparse
import ctypes.util
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def nogpu_driver(build_dir, cuda):
    """Compile ``bench/nogpu_cuda.c`` into ``build_dir/nogpu/libcuda.so.1`` (+ ``libcuda.so``
    for the linker); returns that directory."""
    out = os.path.join(build_dir, "nogpu")
    os.makedirs(out, exist_ok=True)
    lib = os.path.join(out, "libcuda.so.1")
    subprocess.run(["gcc", "-shared", "-fPIC", f"-I{os.path.join(cuda, 'include')}",
                    "-Wl,-soname,libcuda.so.1", os.path.join(HERE, "nogpu_cuda.c"), "-o", lib],
                   check=True)
    link = os.path.join(out, "libcuda.so")
    if not os.path.lexists(link):
        os.symlink("libcuda.so.1", link)
    return out


def _genn_build(protocol, cfg, seed, arch, build_dir):
    """The genn branch of `build_only` (see module docstring); returns seconds."""
    from locallearn.devices.cuda import cuda_home
    from locallearn.devices.genn import run_in_genn_env

    cuda = cuda_home()
    if cuda is None:
        raise SystemExit("no nvcc: set CUDA_PATH to a CUDA 12/13 toolkit")
    env = {"LOCALLEARN_GENN_GPU": "1", "CUDA_PATH": cuda}
    env["LOCALLEARN_GENN_BLOCK_SIZE"] = os.environ.get("LOCALLEARN_GENN_BLOCK_SIZE") or "64"
    if ctypes.util.find_library("cuda") is None:  # no driver: the stand-in
        stand_in = nogpu_driver(build_dir, cuda)
        major, minor = str(arch).split(".")
        lib64 = os.path.join(cuda, "lib64")
        env.update(LD_PRELOAD=os.path.join(stand_in, "libcuda.so.1"),
                   NOGPU_CC_MAJOR=major, NOGPU_CC_MINOR=minor,
                   LD_LIBRARY_PATH=os.pathsep.join(
                       [stand_in, lib64, os.environ.get("LD_LIBRARY_PATH", "")]),
                   LIBRARY_PATH=os.pathsep.join(
                       [stand_in, lib64, os.environ.get("LIBRARY_PATH", "")]))
    os.environ.update(env)
    t0 = time.perf_counter()
    run_in_genn_env(protocol, cfg, seed, report=False, build_only=True,
                    build_dir=os.path.join(build_dir, "genn"))
    return time.perf_counter() - t0


def build_only(protocol, device="cuda", quick=True, overrides=None, arch="9.0", build_dir=None,
               seed=1):
    """Build (generate + compile, no run) ``protocol`` on ``device``; returns seconds."""
    from locallearn import devices
    from locallearn.protocol import get_protocol, make_config

    os.environ["LOCALLEARN_CUDA_ARCH"] = str(arch)
    proto = get_protocol(protocol)
    cfg = make_config(proto, quick=quick, overrides=overrides or {})
    if device == "genn":
        return _genn_build(protocol, cfg, seed, arch, build_dir)
    plan = proto.prepare(cfg, seed)
    t0 = time.perf_counter()
    with devices.session(device, seed=seed, build_dir=build_dir) as sim:
        built = proto.build(cfg, plan)
        sim.prepare(built.objects, built.duration)  # standalone: generate and compile, no run
    return time.perf_counter() - t0


def main(argv=None):
    """Command line (see module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("protocol")
    p.add_argument("--device", default="cuda")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--arch", default="9.0")
    p.add_argument("--build-dir", required=True)
    args = p.parse_args(argv)
    overrides = dict(s.split("=", 1) for s in args.set)
    args.build_dir = os.path.abspath(args.build_dir)
    os.makedirs(args.build_dir, exist_ok=True)
    try:
        secs = build_only(args.protocol, args.device, args.quick, overrides, args.arch,
                          args.build_dir)
    except Exception as exc:  # the compiler's complaint, not a traceback
        from locallearn.errors import DeviceError

        if not isinstance(exc, DeviceError):
            raise
        log = str(exc).rsplit("(log: ", 1)[-1].rstrip(")")
        if os.path.isfile(log):
            with open(log, errors="replace") as fh:
                errors = [line.rstrip() for line in fh if " error" in line.lower()
                          and "no error" not in line]
            print("\n".join(errors[-20:]), file=sys.stderr)
        print(f"gpu_build: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(dict(device=args.device, protocol=args.protocol, arch=args.arch,
                          build_s=round(secs, 1), build_dir=args.build_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
