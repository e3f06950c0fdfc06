"""The ``cpp_standalone`` device: a C++ project generated, compiled and run in its own build
directory; compile-once reruns with ``run_args`` and a seed from ``$LOCALLEARN_SEED``."""

import os

from .registry import Device, register

__all__ = ["activate_cpp_standalone", "SEED_FROM_ENV"]

#: C++ inserted after Brian2's seed: a run of the compiled binary reseeds from $LOCALLEARN_SEED,
#: so reruns (sweep points, checkpoint segments) draw their own reproducible noise.
SEED_FROM_ENV = """
if (getenv("LOCALLEARN_SEED") != NULL) {{
    const long long _locallearn_seed = atoll(getenv("LOCALLEARN_SEED"));
    for (int _i = 0; _i < {threads}; _i++)
        brian::_random_generators[_i].seed(_locallearn_seed + _i);
}}
"""


def activate_cpp_standalone(build_dir, threads=0, seed=None):
    """Activate cpp_standalone into ``build_dir`` with ``threads`` OpenMP threads (0: none)."""
    import brian2
    from brian2 import device, prefs, set_device

    set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    prefs.devices.cpp_standalone.openmp_threads = int(threads)
    prefs.devices.cpp_standalone.extra_make_args_unix = ["-j", str(os.cpu_count() or 1)]
    if seed is not None:
        brian2.seed(int(seed))
    device.insert_code("main", SEED_FROM_ENV.format(threads=max(1, int(threads))))


register(Device(name="cpp_standalone", doc="C++ standalone project, compiled once per structure",
                activate=activate_cpp_standalone, standalone=True))
