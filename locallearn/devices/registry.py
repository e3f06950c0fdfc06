"""The device registry: every device is a module that registers one `Device` record.

A record says what its device can do; the runner (`locallearn.protocol`, `locallearn.sweep`,
the figure cache, the memory check) asks these capabilities and never a device's name. Adding a
device is one module in this package (or a plugin file) that calls `register` and is listed in
``locallearn/devices/__init__.py`` (built-ins) or loaded with ``--plugin``.

This module imports nothing of the package, so every device module can import it.
"""

import dataclasses
from typing import Callable, Optional

from ..errors import ConfigError

__all__ = ["Device", "register", "get", "names", "check_device"]


@dataclasses.dataclass(frozen=True)
class Device:
    """What one simulation device is and can do.

    Attributes
    ----------
    name : str
        The ``--device`` value.
    doc : str
        One line for ``--help`` and the README.
    activate : callable or None
        ``activate(build_dir, threads, seed)`` inside a session: call ``set_device`` and set the
        preferences this device needs (in-process devices only; the session restores them).
    in_process : bool
        Runs in this Python process through `locallearn.devices.session`; False: ``execute``
        runs the protocol elsewhere (another environment or process).
    execute : callable or None
        ``execute(protocol_name, cfg, seed, plan=, report=, timeout=, info=)`` -> the raw dict
        that the protocol's ``collect`` returns (out-of-process devices).
    standalone : bool
        Generates a project that is built on ``Session.run``/``prepare`` into a build directory.
    reruns : bool
        A prepared network runs again with other values and seeds (``run_args`` or
        restore): sweeps and checkpoint segments.
    seeded : bool
        The same seed gives the same run (results may be cached and compared bit for bit).
    custom_events : bool
        Supports Brian2's custom events (``wta_count="events"``).
    one_clock : bool
        Every object must share ``defaultclock`` (brian2genn).
    gpu : bool
        Runs (or can run) on a GPU; the memory check then uses the GPU's memory.
    parallel : bool
        Several runs may go on at once in worker processes (figures ``--jobs``).
    check_available : callable or None
        ``check_available()`` raises `ConfigError` (one line naming what to set) when the
        device cannot run here; cheap (reads files, starts nothing).
    """

    name: str
    doc: str
    activate: Optional[Callable] = None
    in_process: bool = True
    execute: Optional[Callable] = None
    standalone: bool = False
    reruns: bool = True
    seeded: bool = True
    custom_events: bool = True
    one_clock: bool = False
    gpu: bool = False
    parallel: bool = True
    check_available: Optional[Callable] = None


_DEVICES = {}


def register(device):
    """Register ``device`` (a `Device`); a second record of the same name replaces the first.
    Returns ``device``."""
    if not isinstance(device, Device):
        raise TypeError(f"register() takes a Device record, got {type(device).__name__}")
    if device.in_process == (device.execute is not None):
        raise ValueError(f"device {device.name!r}: give execute exactly when not in_process")
    _DEVICES[device.name] = device
    return device


def names():
    """Names of the registered devices, in registration order."""
    return tuple(_DEVICES)


def get(name):
    """The registered `Device` called ``name``; `ConfigError` (parameter ``device``) if none."""
    try:
        return _DEVICES[name]
    except (KeyError, TypeError):
        raise ConfigError("device", f"unknown device {name!r}; accepted: "
                          + ", ".join(_DEVICES)) from None


def check_device(name):
    """Raise `ConfigError` unless ``name`` is a registered device that can run here; return
    ``name``."""
    dev = get(name)
    if dev.check_available is not None:
        dev.check_available()
    return name
