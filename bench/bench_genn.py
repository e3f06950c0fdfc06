"""Benchmark 5: GeNN CPU against cpp_standalone (quick autoencoder), where GENN_PATH is set.
Wall times of whole runs and the simulation part alone (GeNN rebuilds on every run)."""

import statistics


def run(quick=False):
    """Run both side by side; returns the benchmark table."""
    from locallearn.protocol import run_protocol

    rows = []
    for device in ("cpp_standalone", "genn"):
        walls, sims = [], []
        for seed in range(1, 2 if quick else 4):
            res = run_protocol("autoencoder", quick=True, device=device, seed=seed,
                               report=False)
            walls.append(res.metrics["wall_time_s"])
            sims.append(res.config.get("genn_simulation_cpu_s", float("nan")))
        rows.append(dict(name=device, wall_s=statistics.median(walls),
                         genn_simulation_cpu_s=statistics.median(sims)))
    rows[1]["wall_ratio_to_cpp"] = rows[1]["wall_s"] / rows[0]["wall_s"]
    return dict(title="5. GeNN CPU vs cpp_standalone, autoencoder --quick (19.5 s simulated)",
                rows=rows, goal="reported (GeNN on a GPU is untested: no GPU here)")
