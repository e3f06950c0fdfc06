"""The `Protocol` record that every protocol module registers (re-exported by
`locallearn.protocol`, the runner). A leaf module: protocols import it, and the runner imports
the protocols, without an import circle."""

import dataclasses
from typing import Callable, Optional

__all__ = ["Protocol"]


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A registered experiment (see module docstring)."""

    name: str
    config_class: type
    prepare: Callable
    build: Callable
    collect: Callable
    analyse: Callable
    quick: dict
    doc: str = ""
    #: Brian2 object-name fragment -> config fields whose strings define that object
    object_fields: dict = dataclasses.field(default_factory=dict)
    #: optional: a custom executor replacing the build/run/collect cycle (multi-run protocols)
    execute: Optional[Callable] = None
    #: config keys (dotted for nested fields) whose values reach a compiled network through
    #: run_args, so sweeping them needs no rebuild (see `locallearn.sweep`); a tuple, or a
    #: function of the config returning one (keys that depend on the rules in effect)
    runtime_keys: object = ()
    #: optional: rerun hooks (run_args, final_state, merge, divergence) for segmented runs and
    #: compile-once sweeps, see `locallearn.execution`
    rerun: Optional[object] = None
    #: optional: normalize(cfg, overrides, quick) -> cfg, making dependent fields consistent
    #: (e.g. J from the shape of A) after the user's overrides and before validation; ``quick``
    #: says whether the quick configuration is in effect
    normalize: Optional[Callable] = None
    #: optional: memory(cfg) -> `locallearn.memory.Need`, the synapses, neurons and recorded
    #: values the configuration creates, counted from ``cfg`` alone (``prepare`` may allocate
    #: N x N arrays, so the check runs before it); `run_protocol` refuses a configuration whose
    #: estimate exceeds the memory limit (see `locallearn.memory`)
    memory: Optional[Callable] = None
    #: optional: the name of a protocol that took over part of this one's parameters (an
    #: unknown key that protocol accepts gets a pointer to it)
    see_also: str = ""
