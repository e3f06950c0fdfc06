"""Fit of `locallearn.memory.BYTES_PER_SYNAPSE`: peak resident memory of ``autoencoder`` runs on
cpp_standalone at several N (short runs, so that recordings stay small).

``python bench/memory_fit.py [N ...]`` runs each size in a fresh interpreter, reads the peak
resident set of that interpreter (``ru_maxrss`` of RUSAGE_SELF) and of its children (the
compiler and the simulation binary, RUSAGE_CHILDREN), and fits
``peak - recorded * BYTES_PER_RECORDED = base + bytes_per_synapse * synapses``
by least squares on the sum of both peaks (they overlap while the binary runs).
"""

import json
import subprocess
import sys

import numpy as np

CHILD = r"""
import json, resource, sys
from locallearn.protocol import run_protocol, get_protocol, make_config
from locallearn import memory
ov = dict(N=sys.argv[1], duration="0.2*second", t_before="0.1*second", t_test="0.1*second",
          fano_trials="0", checkpoint_every="0*second", weights_dt="0.1*second")
run_protocol("autoencoder", overrides=ov, device="cpp_standalone", seed=1, report=False)
need = memory.need_of(get_protocol("autoencoder"), make_config("autoencoder", overrides=ov))
print(json.dumps(dict(N=int(sys.argv[1]),
                      self_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
      children_kb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
      synapses=need.synapses, recorded=need.recorded)))
"""


def main(sizes):
    """Run every size, print one JSON line each and the fitted constants."""
    from locallearn.memory import BYTES_PER_RECORDED

    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, "-c", CHILD, str(n)], capture_output=True,
                             text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    if len(rows) < 2:
        return
    syn = np.array([r["synapses"] for r in rows], float)
    peak = np.array([(r["self_kb"] + r["children_kb"]) * 1024 for r in rows], float)
    rec = np.array([r["recorded"] for r in rows], float)
    slope, base = np.polyfit(syn, peak - rec * BYTES_PER_RECORDED, 1)
    print(f"bytes per synapse {slope:.1f}, base {base / 2 ** 20:.0f} MiB")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [500, 1000, 2000])
