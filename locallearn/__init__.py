"""locallearn: Brian2 models of local learning rules.

Core package: devices (:mod:`locallearn.devices`), configuration fields
(:mod:`locallearn.params`), the results store (:mod:`locallearn.results`), protocols and the
runner (:mod:`locallearn.protocol`) and the command line (:mod:`locallearn.cli`). The models,
protocols, analysis and figures live in ``locallearn.models``, ``locallearn.protocols``,
``locallearn.analysis`` and ``locallearn.figures``.
"""

__version__ = "0.2.0.dev0"
