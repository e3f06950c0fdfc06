"""Memory counts of the balanced-network protocols (see `locallearn.memory`), from the
configuration alone: ``prepare`` draws N x N matrices, so the check must not need its plan."""

from brian2 import second

from locallearn.protocols.balanced import (DRIVE_VARIABLES, MAX_DRIVE_ENTRIES,
                                           MAX_SNAPSHOT_ENTRIES)

__all__ = ["memory_need"]


def memory_need(cfg, populations, t_fast=0.0, readout=False, analysis=0.0):
    """The `locallearn.memory.Need` of a balanced run from its configuration alone (no plan).

    ``populations``: (count, slow, learn, record_drives) per kind of population, all of the
    model's N neurons. Counts every all-to-all pathway (N^2 fast, N^2 slow), the target's
    recordings (x, c and xhat with a readout: J values per step each), spikes at
    `locallearn.memory.SPIKE_RATE_HZ`, weight snapshots (bounded by `MAX_SNAPSHOT_ENTRIES`)
    and the drive recordings (bounded by `MAX_DRIVE_ENTRIES`). ``t_fast`` (s): the fast-only
    phase of the schedule. ``analysis``: values per test step and neuron that the analysis
    holds at once, counted as recorded values (the dynamics' filtered trains and drives over the
    test window: 2.5, from one measured run, N = 1000, 1 s of test: peak 2.16 GB, Python 1.72
    plus the binary 0.44, against 1.56 GB counted without it).
    """
    from locallearn.memory import Need, SPIKE_RATE_HZ

    N, J = int(cfg.model.N), int(cfg.model.J)
    dt = float(cfg.dt / second)
    end = (float(cfg.t_before / second) + t_fast + float(cfg.duration / second)
           + float(cfg.t_test / second) + cfg.fano_trials * float(cfg.fano_trial / second))
    steps = end / dt
    n_snap = end / float(cfg.weights_dt / second)
    need = Need(neurons=J, recorded=int(steps * J * (3 if readout else 2)), knobs="N")
    need.recorded += int(analysis * float(cfg.t_test / cfg.dt) * N)
    for count, slow, learn, drives in populations:
        per = N * N * (2 if slow else 1)
        need.synapses += count * per
        need.neurons += count * N
        rec = 1.5 * SPIKE_RATE_HZ * N * end
        if learn:
            rec += min(n_snap * per, MAX_SNAPSHOT_ENTRIES + per)
        if drives:
            rec += min(steps * N * len(DRIVE_VARIABLES), MAX_DRIVE_ENTRIES + N)
        need.recorded += int(count * rec)
    return need
