#!/usr/bin/env bash
# Every GPU check of issue 12 in one call (budget: under 10 minutes on one H200, no network).
#
#   bash bench/gpu_check.sh            # on the GPU machine
#   DRY_RUN=1 bash bench/gpu_check.sh  # or --cpu: on a CPU machine; GPU steps reported as skipped,
#                                      # CPU steps at reduced size
#
# Steps (each timed, one status line each, all output under $OUT, default results/gpu_check):
#   1. machine: nvidia-smi, nvcc, Pythons                                   (GPU part: nvidia-smi)
#   2. install: .venv-cuda from wheels in $WHEELS (default wheelhouse/, ignored by git;
#      fill it on a networked machine with: pip download -d wheelhouse -r requirements-cuda.txt
#      -e . ) and the GeNN CUDA 13 patch (make genn-patch, where GENN_PATH is set)
#   3. build: the quick autoencoder generated and nvcc-compiled for sm_90 on brian2cuda and on
#      GeNN's CUDA backend (no run; runs on a CPU machine too where .venv-cuda, GENN_PATH and nvcc
#      exist; GeNN's block sizes fixed, $GENN_BLOCK_SIZE, default 64, no occupancy search)
#   4. correctness: autoencoder --quick on cpp_standalone seeds 1-4 (the spread), on cuda and on
#      GeNN's CUDA backend; each GPU metric against mean +- max(floor, 4 std)     (GPU steps)
#   5. speed: dynamics at N = 1000 and 4000: cpp_standalone with all cores and with one core
#      (one-spike rule $CPU_COUNT, default argmax) against cuda ($GPU_COUNT, default events:
#      brian2cuda runs the argmax arbiter's N events as a serial loop in one thread block, the
#      events rows in parallel); seconds per simulated second and the ratio to the GPU's
#      bandwidth bound (H200: 4.8 TB/s; GPU_BANDWIDTH overrides)                (GPU steps)
set -u
cd "$(dirname "$0")/.."
DRY="${DRY_RUN:-0}"
[ "${1:-}" = "--cpu" ] && DRY=1
OUT="${OUT:-results/gpu_check}"
WHEELS="${WHEELS:-wheelhouse}"
PY="${PY:-.venv/bin/python}"
CUDA_PY="${CUDA_PY:-.venv-cuda/bin/python}"
GPU_BANDWIDTH="${GPU_BANDWIDTH:-4.8e12}"
CPU_COUNT="${CPU_COUNT:-argmax}"
GPU_COUNT="${GPU_COUNT:-events}"
NCPU="$(nproc)"
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
START=$(date +%s)

say() { echo "$*" | tee -a "$SUMMARY"; }
# step NAME GPU(0/1) TIMEOUT_S COMMAND...: run it (or skip a GPU step in a dry run), log, time
step() {
    local name="$1" gpu="$2" limit="$3"; shift 3
    if [ "$gpu" = 1 ] && [ "$DRY" = 1 ]; then
        say "SKIP  $name (dry run: no GPU)"; return 0
    fi
    local t0=$(date +%s) rc
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1; rc=$?
    local dt=$(( $(date +%s) - t0 ))
    if [ $rc = 0 ]; then say "OK    $name (${dt} s)"; else
        say "FAIL  $name (${dt} s, status $rc): $(tail -n 1 "$OUT/$name.log")"; fi
    return 0
}
have_cuda_env() { [ -x "$CUDA_PY" ] && "$CUDA_PY" -c "import brian2cuda" 2>/dev/null; }

say "gpu_check $(date -u +%Y-%m-%dT%H:%MZ) $(hostname) dry_run=$DRY cpus=$NCPU"

# 1. machine
step machine 0 60 bash -c "nvidia-smi -L || echo 'no nvidia-smi'; (command -v nvcc || ls \${CUDA_PATH:-/usr/local/cuda}/bin/nvcc) && \${CUDA_PATH:-/usr/local/cuda}/bin/nvcc --version | tail -n 2; $PY -c 'import sys, brian2; print(sys.version.split()[0], brian2.__version__)'"
step gpu_present 1 30 nvidia-smi --query-gpu=name,memory.total --format=csv

# 2. install (offline: wheels only)
if ! have_cuda_env; then
    if [ -d "$WHEELS" ]; then
        step install_cuda_env 0 300 bash -c "python3 -m venv .venv-cuda && .venv-cuda/bin/pip install --no-index --find-links '$WHEELS' -r requirements-cuda.txt && .venv-cuda/bin/pip install --no-index --find-links '$WHEELS' --no-build-isolation -e ."
    else
        say "SKIP  install_cuda_env (no .venv-cuda and no $WHEELS/: see the header of this script)"
    fi
else
    say "OK    install_cuda_env (.venv-cuda present: $($CUDA_PY -c 'import brian2, brian2cuda; print("brian2", brian2.__version__, "brian2cuda", brian2cuda.__version__)'))"
fi
if [ -n "${GENN_PATH:-}" ]; then step genn_patch 0 60 make -s genn-patch; else
    say "SKIP  genn_patch (GENN_PATH not set)"; fi

# 3. build only (GPU code generated and compiled for sm_90, nothing runs)
if have_cuda_env; then
    step build_cuda_autoencoder 0 900 "$CUDA_PY" bench/gpu_build.py autoencoder --quick \
        --set wta_count="$GPU_COUNT" --arch 9.0 --build-dir "$OUT/build_cuda_autoencoder"
else
    say "SKIP  build_cuda_autoencoder (no cuda environment: make cuda-env)"
fi
if [ -n "${GENN_PATH:-}" ]; then  # GeNN's CUDA backend (a stand-in driver where none is installed)
    step build_genn_autoencoder 0 300 "$PY" bench/gpu_build.py autoencoder --quick \
        --device genn --arch 9.0 --build-dir "$OUT/build_genn_autoencoder"
else say "SKIP  build_genn_autoencoder (GENN_PATH not set)"; fi

# 4. correctness against cpp_standalone's seed spread
SEEDS="1 2 3 4"; [ "$DRY" = 1 ] && SEEDS="1 2"
for s in $SEEDS; do
    step "auto_cpp_seed$s" 0 300 "$PY" -m locallearn run autoencoder --quick --seed "$s" \
        --out "$OUT/auto_cpp_$s" --overwrite
done
if have_cuda_env; then
    step auto_cuda 1 300 "$CUDA_PY" -m locallearn run autoencoder --quick --device cuda \
        --set wta_count="$GPU_COUNT" --out "$OUT/auto_cuda" --overwrite
else say "SKIP  auto_cuda (no cuda environment)"; fi
if [ -n "${GENN_PATH:-}" ]; then
    step auto_genn_gpu 1 400 env LOCALLEARN_GENN_GPU=1 \
        LOCALLEARN_GENN_BLOCK_SIZE="${GENN_BLOCK_SIZE:-64}" "$PY" -m locallearn run autoencoder \
        --quick --device genn --out "$OUT/auto_genn" --overwrite
else say "SKIP  auto_genn_gpu (GENN_PATH not set)"; fi
step compare 0 60 "$PY" - "$OUT" <<'PYEOF'
import glob, json, os, sys
import numpy as np
out = sys.argv[1]
FLOORS = dict(weight_distance_final=0.002, weight_scale=0.01, rate_hz=1.0, cv_isi=0.05,
              decoding_nrmse=0.005)
ref = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, "auto_cpp_*", "metrics.json")))]
print(f"cpp_standalone seeds: {len(ref)}")
for name in ("auto_cuda", "auto_genn"):
    path = os.path.join(out, name, "metrics.json")
    if not os.path.isfile(path):
        print(f"{name}: not run"); continue
    g = json.load(open(path))
    for key, floor in FLOORS.items():
        vals = np.array([m[key] for m in ref])
        tol = max(floor, 4 * vals.std(ddof=1)) if len(vals) > 1 else floor
        ok = abs(g[key] - vals.mean()) <= tol
        print(f"{name} {key}: {g[key]:.4g} vs {vals.mean():.4g} +- {tol:.3g} {'ok' if ok else 'OUT'}")
for m in ref:
    print("cpp", {k: round(m[k], 4) for k in FLOORS})
PYEOF

# 5. speed (N = 1000 and 4000; reduced to 100 and 200 on a dry run)
SIZES="1000 4000"; [ "$DRY" = 1 ] && SIZES="100 200"
for N in $SIZES; do
    SIM=0.2; [ "$N" -ge 4000 ] && SIM=0.05
    [ "$DRY" = 1 ] && SIM=0.2
    step "speed_cpp_N$N" 0 400 "$PY" bench/gpu_scaling.py --device cpp_standalone --N "$N" \
        --sim "$SIM" --threads "$NCPU" --wta-count "$CPU_COUNT"
    step "speed_cpp1_N$N" 0 400 "$PY" bench/gpu_scaling.py --device cpp_standalone --N "$N" \
        --sim "$SIM" --threads 0 --wta-count "$CPU_COUNT"
    if have_cuda_env; then
        step "speed_cuda_N$N" 1 400 env LOCALLEARN_CUDA_ARCH= "$CUDA_PY" bench/gpu_scaling.py \
            --device cuda --N "$N" --sim "$SIM" --wta-count "$GPU_COUNT"
    else say "SKIP  speed_cuda_N$N (no cuda environment)"; fi
done
step speed_table 0 60 "$PY" - "$OUT" "$GPU_BANDWIDTH" <<'PYEOF'
import glob, json, os, sys
out, bw = sys.argv[1], float(sys.argv[2])
rows = {}
for path in sorted(glob.glob(os.path.join(out, "speed_*.log"))):
    lines = [l for l in open(path) if l.startswith("{")]
    if lines:
        r = json.loads(lines[-1]); rows[(r["N"], os.path.basename(path)[6:-4])] = r
print(f"{'N':>6} {'run':>14} {'s/sim s':>10} {'build s':>8} {'vs 1 core':>10} {'x GPU bound':>12}")
for (N, name), r in sorted(rows.items()):
    one = rows.get((N, f"cpp1_N{N}"))
    speedup = one["s_per_simulated_s"] / r["s_per_simulated_s"] if one else float("nan")
    bound = r["bytes_per_step"] * r["steps"] / bw / r["simulated_s"]
    ratio = r["s_per_simulated_s"] / bound if "cuda" in name else float("nan")
    print(f"{N:>6} {name:>14} {r['s_per_simulated_s']:>10.3g} {r['build_s']:>8.1f} "
          f"{speedup:>10.2f} {ratio:>12.3g}")
PYEOF
say "--- compare"; cat "$OUT/compare.log" >> "$SUMMARY"; cat "$OUT/compare.log"
say "--- speed"; cat "$OUT/speed_table.log" >> "$SUMMARY"; cat "$OUT/speed_table.log"
say "total $(( $(date +%s) - START )) s"
