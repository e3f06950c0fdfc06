"""Simulation devices as registered modules.

Each device is one module of this package that registers a `Device` record (its capabilities:
in-process or not, standalone build, reruns, seeded, custom events, one clock, GPU, parallel)
with `locallearn.devices.registry`; the runner asks the record, never the name. Built in:
``numpy`` and ``cython`` (`runtime`), ``cpp_standalone`` (`standalone`), ``genn``
(`locallearn.devices.genn`, brian2genn in its own environment) and ``cuda``
(`locallearn.devices.cuda`, brian2cuda in its own environment).

Adding a device: write a module that calls ``registry.register(Device(...))`` (see
`locallearn.devices.registry` for the fields) and add it to the built-in imports below, or load it
as a plugin file (``--plugin``). Sessions (`session`, `Session`, build directories) are in
`locallearn.devices.session`; every public name of the former ``locallearn/devices.py`` is
re-exported here.
"""

from . import registry
from .registry import Device, check_device, register
# The built-in devices register themselves on import, in this order.
from . import runtime, standalone, genn, cuda  # noqa: F401
from .session import (DEFAULT_DEVICE, GENN_SCHEDULE, SEED_FROM_ENV, Session, build_cache_root,
                      build_root, build_slot, genn_session, quiet_brian, session)

__all__ = ["Device", "register", "get", "names", "check_device", "DEVICES", "RUNTIME_DEVICES",
           "DEFAULT_DEVICE", "GENN_SCHEDULE", "SEED_FROM_ENV", "Session", "session",
           "build_root", "build_cache_root", "build_slot", "genn_session", "quiet_brian"]

get = registry.get
names = registry.names

#: Names of the built-in devices (`names()` includes plugins registered later).
DEVICES = names()
#: The runtime-mode devices.
RUNTIME_DEVICES = tuple(n for n in DEVICES
                        if get(n).in_process and not get(n).standalone)
