#!/bin/sh
# bench/compare.sh — mimonet vs PyTorch 1.13 on the light PIM model of DESIGN.md.
#
#   sh bench/compare.sh BUILD_DIR            (what `make bench` runs)
#
# Runs BUILD_DIR/bench_light (bench/bench_light.c) and bench/torch_light.py ALTERNATELY, for
# each mode (infer, train) and thread count (1, 2), ROUNDS times, swapping which engine goes
# first every round; the machine is shared and noisy, so each figure is the median over the
# rounds of each run's own median.  Prints a table and a JSON summary (also written to
# BUILD_DIR/bench_light.json; every single run is kept in BUILD_DIR/bench_light_runs.jsonl).
#
# Settings (DESIGN.md, "Performance facts"):
#   - OPENBLAS_CORETYPE is unset for both engines (the environment presets it to Haswell, which
#     halves OpenBLAS's sgemm); CORETYPES="unset Haswell" measures both settings.
#   - PyTorch runs with GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=
#     68719476736 (otherwise every large temporary costs fresh-page faults) and
#     torch.set_num_threads(N).
#   - Both engines run with OMP_WAIT_POLICY=passive (override by exporting it): on 2 shared
#     cores, OpenMP threads spin-waiting between parallel regions steal the other core (the
#     mimonet CLI sets the same default for itself).  Both PyTorch and mimonet use libgomp.
#   - The fp32 ceiling: FMA peak PEAK_GFLOPS_PER_THREAD (default 225 GFLOP/s, ~450 on the 2
#     cores) / (2 FLOP per MAC * MAC per sample); training counts 3x the forward MACs
#     (forward, input gradient, weight gradient).
# Environment knobs: ROUNDS (3), REPS (15), WARMUP (3), THREADS ("1 2"), MODES ("infer train"),
# CORETYPES ("unset"), PEAK_GFLOPS_PER_THREAD (225), PYTHON (/usr/bin/python3).
# If PyTorch is missing it says so and prints mimonet's numbers alone.
set -eu

BUILD=${1:-build}
BIN=$BUILD/bench_light
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${ROUNDS:-3}
REPS=${REPS:-15}
WARMUP=${WARMUP:-3}
THREADS=${THREADS:-"1 2"}
MODES=${MODES:-"infer train"}
CORETYPES=${CORETYPES:-unset}
PEAK=${PEAK_GFLOPS_PER_THREAD:-225}
PYTHON=${PYTHON:-/usr/bin/python3}
TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736

if [ ! -x "$BIN" ]; then
  echo "compare.sh: $BIN not found; build it with: make BUILD=$BUILD $BIN" >&2
  exit 1
fi

have_torch=0
torch_version=""
if [ -x "$PYTHON" ] && torch_version=$("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
  have_torch=1
else
  echo "compare.sh: PyTorch is not available to $PYTHON (Debian: apt-get install python3-torch);"
  echo "compare.sh: printing mimonet's numbers alone."
fi

RUNS=$BUILD/bench_light_runs.jsonl
: > "$RUNS"

# run_one ENGINE CORETYPE MODE THREADS: one benchmark process, its JSON line tagged with the
# OpenBLAS core-type setting appended to $RUNS.
run_one() {
  engine=$1 ct=$2 mode=$3 th=$4
  if [ "$ct" = unset ]; then set -- env -u OPENBLAS_CORETYPE; else set -- env OPENBLAS_CORETYPE="$ct"; fi
  set -- "$@" OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
  if [ "$engine" = mimonet ]; then
    line=$("$@" "$BIN" --mode "$mode" --threads "$th" --reps "$REPS" --warmup "$WARMUP" --json)
  else
    line=$("$@" GLIBC_TUNABLES=$TUNABLES "$PYTHON" "$HERE/torch_light.py" --mode "$mode" \
           --threads "$th" --reps "$REPS" --warmup "$WARMUP" --json)
  fi
  printf '%s\n' "$line" | sed "s/}\$/,\"openblas_coretype\":\"$ct\"}/" >> "$RUNS"
  printf '  %-8s %-6s %-5s threads=%s  %s samples/s\n' "$engine" "$ct" "$mode" "$th" \
    "$(printf '%s\n' "$line" | sed 's/.*"samples_per_s": *\([^,}]*\).*/\1/')"
}

echo "mimonet vs PyTorch, light model, batch 16 x T 4096: $ROUNDS rounds x $REPS reps (+$WARMUP warm-up)"
r=1
while [ "$r" -le "$ROUNDS" ]; do
  echo "round $r"
  for ct in $CORETYPES; do
    for mode in $MODES; do
      for th in $THREADS; do
        if [ $((r % 2)) -eq 1 ] || [ "$have_torch" = 0 ]; then order="mimonet pytorch"; else order="pytorch mimonet"; fi
        for engine in $order; do
          if [ "$engine" = pytorch ] && [ "$have_torch" = 0 ]; then continue; fi
          run_one "$engine" "$ct" "$mode" "$th"
        done
      done
    done
  done
  r=$((r + 1))
done

# Medians, ratios, fraction of the fp32 ceiling: a table on stdout and the JSON summary.
awk -v peak="$PEAK" -v rounds="$ROUNDS" -v reps="$REPS" -v tv="$torch_version" \
    -v have_torch="$have_torch" -v json_out="$BUILD/bench_light.json" '
function str(line, key,    re, s) {
  re = "\"" key "\": *\"[^\"]*\""
  if (!match(line, re)) return ""
  s = substr(line, RSTART, RLENGTH); sub(/^"[^"]*": *"/, "", s); sub(/"$/, "", s)
  return s
}
function num(line, key,    re, s) {
  re = "\"" key "\": *[-0-9.eE+]+"
  if (!match(line, re)) return ""
  s = substr(line, RSTART, RLENGTH); sub(/^"[^"]*": */, "", s)
  return s + 0
}
function median(k,    n, i, j, v, a) {
  n = cnt[k]
  for (i = 1; i <= n; i++) a[i] = val[k, i]
  for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function jnum(x) { return x == "" ? "null" : sprintf("%.6g", x) }
{
  e = str($0, "engine"); ct = str($0, "openblas_coretype"); m = str($0, "mode"); th = num($0, "threads")
  k = e SUBSEP ct SUBSEP m SUBSEP th
  val[k, ++cnt[k]] = num($0, "samples_per_s")
  macs = num($0, "macs_per_sample")
  if (e == "mimonet") params = num($0, "params")
  cfg = ct SUBSEP m SUBSEP th
  if (!(cfg in seen)) { seen[cfg] = 1; order[++ncfg] = cfg }
}
END {
  printf "\n%-6s %-5s %7s | %12s %12s %9s | %9s %9s | %11s\n", "blas", "mode", "threads",
         "mimonet Msps", "pytorch Msps", "ratio", "mn %ceil", "pt %ceil", "ceil Msps"
  printf "%s\n", "-------------------------------------------------------------------------------------------"
  js = ""
  for (i = 1; i <= ncfg; i++) {
    split(order[i], f, SUBSEP); ct = f[1]; m = f[2]; th = f[3]
    ceil = peak * 1e9 * th / (2 * macs * (m == "train" ? 3 : 1))
    km = "mimonet" SUBSEP order[i]; kp = "pytorch" SUBSEP order[i]
    mn = (km in cnt) ? median(km) : ""; pt = (kp in cnt) ? median(kp) : ""
    ratio = (mn != "" && pt != "" && pt > 0) ? mn / pt : ""
    printf "%-6s %-5s %7d | %12.3f %12s %9s | %8.1f%% %9s | %11.2f\n", ct, m, th, mn / 1e6,
           pt == "" ? "-" : sprintf("%.3f", pt / 1e6), ratio == "" ? "-" : sprintf("%.2fx", ratio),
           100 * mn / ceil, pt == "" ? "-" : sprintf("%.1f%%", 100 * pt / ceil), ceil / 1e6
    js = js (i > 1 ? ",\n    " : "") sprintf("{\"mode\":\"%s\",\"threads\":%d,\"openblas_coretype\":\"%s\",\"mimonet_samples_per_s\":%s,\"pytorch_samples_per_s\":%s,\"ratio_mimonet_over_pytorch\":%s,\"ceiling_samples_per_s\":%s,\"mimonet_fraction_of_ceiling\":%s,\"pytorch_fraction_of_ceiling\":%s}", m, th, ct, jnum(mn), jnum(pt), jnum(ratio), jnum(ceil), jnum(mn / ceil), pt == "" ? "null" : jnum(pt / ceil))
  }
  json = sprintf("{\n  \"benchmark\": \"light PIM model, batch 16 x T 4096\",\n  \"params\": %s,\n  \"macs_per_sample\": %s,\n  \"rounds\": %d,\n  \"reps_per_run\": %d,\n  \"statistic\": \"median over rounds of each run median\",\n  \"pytorch\": %s,\n  \"peak_gflops_per_thread\": %s,\n  \"results\": [\n    %s\n  ]\n}", jnum(params), jnum(macs), rounds, reps, have_torch ? "\"" tv "\"" : "null", jnum(peak), js)
  print "\n" json
  print json > json_out
}' "$RUNS"
