"""Exceptions that the command line turns into one-line messages.

`ConfigError` is raised for bad user input before anything is compiled or written; the command
line prints its message and exits with status 2. `DeviceError` is raised when a device fails to
build or run a valid configuration (status 1). `DivergenceError` is raised when a simulation's
state becomes non-finite or its population rate exceeds the documented bound; it carries the
partial result recorded up to that point so that nothing is lost.
"""

import re


class LocallearnError(Exception):
    """Base class of all errors this package raises on purpose."""


class ConfigError(LocallearnError, ValueError):
    """Bad user input: the message names the parameter and what is accepted."""

    def __init__(self, parameter, message):
        self.parameter = parameter
        message = re.sub(r"\s*\n\s*", " ", str(message))  # one line (array reprs span several)
        super().__init__(f"{parameter}: {message}" if parameter else message)


class DeviceError(LocallearnError, RuntimeError):
    """A device failed to build or run a valid configuration (e.g. a GeNN compile error); the
    message is one line and names the log to read."""


class DivergenceError(LocallearnError, RuntimeError):
    """A run diverged (non-finite state or runaway rate).

    Attributes
    ----------
    result : RunResult or None
        Everything recorded up to the point of divergence, with ``metrics['status'] ==
        'diverged'``; the command line saves it before exiting.
    """

    def __init__(self, message, result=None):
        self.result = result
        super().__init__(message)
