"""What a balanced population records, and how often (docs/balanced-spiking.md §9).

Recording intervals are chosen so that a run keeps a bounded number of values; the drive
recordings (V, drive_ff, r) are corrected for schedules in which a spike's jumps reach V one step
after its reset (GeNN's order).
"""

import numpy as np

from locallearn.analysis import spikes

__all__ = ["MAX_SNAPSHOT_ENTRIES", "MAX_DRIVE_ENTRIES", "DRIVE_VARIABLES", "drive_interval",
           "snapshot_interval", "jumps_pending", "undelivered_spikes"]

#: Largest number of weight values kept in snapshots (snapshots x synapses).
MAX_SNAPSHOT_ENTRIES = 20_000_000
#: Largest number of values the drive recordings (V, drive_ff, r) keep over a whole run (the
#: quick autoencoder: every 10th step, 1 ms; a larger budget made its binary write 94 MB).
MAX_DRIVE_ENTRIES = 1_200_000
#: The neuron variables a population records for its balance metrics (arrays ``rec_*``).
DRIVE_VARIABLES = ("V", "drive_ff", "r")



def drive_interval(plan, pp):
    """Recording interval (s) of a population's drives: every step unless the whole run would
    exceed `MAX_DRIVE_ENTRIES` values, then every k-th step."""
    steps = plan.schedule.end / plan.schedule.dt
    k = int(np.ceil(steps * pp.model.N * len(DRIVE_VARIABLES) / MAX_DRIVE_ENTRIES))
    return plan.schedule.dt * max(1, k)


def snapshot_interval(plan, pp):
    """Weight-snapshot interval (s) for a population, raised to keep memory bounded."""
    n_snap = plan.schedule.end / plan.weights_dt
    per = pp.model.N ** 2 * (2 if pp.slow else 1)
    if n_snap * per <= MAX_SNAPSHOT_ENTRIES:
        return plan.weights_dt
    k = int(np.ceil(n_snap * per / MAX_SNAPSHOT_ENTRIES))
    return plan.weights_dt * k


def jumps_pending(when):
    """Whether a monitor in slot ``when`` of the schedule in effect sees the reset of a spike
    (``r += 1``) but not yet its fast jumps W_f o on V: the resets follow the threshold and the
    synaptic events come later, in the next step (GeNN's order, brian2genn's schedule)."""
    from brian2 import prefs

    sched = list(prefs.core.network.default_schedule)
    if not all(s in sched for s in (when, "thresholds", "resets", "synapses")):
        return False
    n, thr = len(sched), sched.index("thresholds")
    dist = {s: (sched.index(s) - thr) % n for s in (when, "resets", "synapses")}
    return dist["resets"] < dist[when] <= dist["synapses"]


def undelivered_spikes(raw_pop, dt):
    """Take the spikes of the step before each recorded step out of ``rec_r`` when the
    recording precedes their delivery (`jumps_pending`), so that V = drive_ff + W_f r holds
    on every device: r becomes the trains whose jumps V has received."""
    rec_steps = spikes.to_steps(raw_pop["t_rec"], dt)
    st, si = raw_pop["spike_steps"], raw_pop["spike_i"]
    rows = np.searchsorted(rec_steps, st + 1)
    ok = rows < len(rec_steps)
    ok[ok] = rec_steps[rows[ok]] == st[ok] + 1
    np.subtract.at(raw_pop["rec_r"], (rows[ok], si[ok]), 1.0)
