"""The ``numpy`` and ``cython`` devices: Brian2's runtime mode with that code-generation
target. Seeded, reruns by restoring the stored initial state, custom events."""

from .registry import Device, register

__all__ = ["activate_runtime"]


def activate_runtime(target):
    """An ``activate`` for `Device`: runtime mode with code-generation ``target``."""

    def activate(build_dir=None, threads=0, seed=None):
        import brian2
        from brian2 import prefs, set_device

        set_device("runtime")
        prefs.codegen.target = target
        if seed is not None:
            brian2.seed(int(seed))

    return activate


for _target, _doc in (("numpy", "Brian2 runtime, NumPy code (no compiler needed)"),
                      ("cython", "Brian2 runtime, Cython code")):
    register(Device(name=_target, doc=_doc, activate=activate_runtime(_target)))
