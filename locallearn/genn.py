"""The ``genn`` device's parent side, kept under its former name: everything lives in
`locallearn.devices.genn` (the registered device module) and is re-exported here."""

from locallearn.devices.genn import *  # noqa: F401,F403
from locallearn.devices.genn import __all__  # noqa: F401
