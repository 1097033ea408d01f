#!/bin/sh
# bench/compare.sh — mimonet vs its peers: PyTorch 1.13 on the light PIM model of DESIGN.md and
# on the training step of the end-to-end CSI system, and numpy on the least-squares fit of the
# GMP baseline.
#
#   sh bench/compare.sh BUILD_DIR            (what `make bench` runs)
#   SECTIONS=gmp sh bench/compare.sh BUILD_DIR     (one section: "light", "csi", "gmp", "stream")
#
# Light model: runs BUILD_DIR/bench_light (bench/bench_light.c) and bench/torch_light.py
# ALTERNATELY, for each mode (infer, train) and thread count (1, 2), ROUNDS times, swapping
# which engine goes first every round; the machine is shared and noisy, so each figure is the
# median over the rounds of each run's own median.  Prints a table and a JSON summary (also
# written to BUILD_DIR/bench_light.json; every single run is kept in
# BUILD_DIR/bench_light_runs.jsonl).
#
# CSI training step: BUILD_DIR/bench_csi (bench/bench_csi.c) and bench/torch_csi.py (the same five
# networks, pilots, observation and SE loss in PyTorch, tools/csi_torch.py) ALTERNATELY, CSI_ROUNDS
# times per thread count in CSI_THREADS.  One step is stage 3 of the fusion scheme (every network,
# joint): batch of 32 drops, fresh noise, forward, -mean sum SE, backward, global-norm clipping,
# AdamW; the CDL size of docs/csi_e2e.md (K 2, M 32, F 48, L 8, B 8, 1.75M parameters).  Prints
# ms per step, the ratio, and the fraction of the fp32 ceiling (3 x the forward MACs, which
# bench_csi counts node by node); JSON summary in BUILD_DIR/bench_csi.json, single runs in
# BUILD_DIR/bench_csi_runs.jsonl.  That PyTorch computes the same thing is checked by
# `bench_csi --dump DIR && torch_csi.py --check DIR` (every stage and every gradient).
#
# GMP fit: BUILD_DIR/bench_gmp (bench/bench_gmp.c) first writes its deterministic data set
# (100,000 samples, 32 Tx -> 16 Rx) and its coefficients to BUILD_DIR/gmp_data; then it and
# bench/gmp_numpy.py (numpy.linalg.lstsq on the same 896-column basis, built in numpy) run
# alternately, GMP_ROUNDS times per thread count in GMP_THREADS, swapping the order every
# round.  Prints seconds per fit, the ratio, mimonet's fraction of the fp64 ceiling, and how
# far numpy's prediction is from mimonet's (same basis: about -120 dB); JSON summary in
# BUILD_DIR/bench_gmp.json, single runs in BUILD_DIR/bench_gmp_runs.jsonl.  One numpy lstsq
# takes 15-25 s here and each numpy run does a warm-up fit first, so this section takes about
# GMP_ROUNDS x 45 s per thread count: 2.5 minutes with the defaults.
#
# Streaming canceller (no peer: PyTorch has no streaming canceller to compare with):
# BUILD_DIR/bench_light --mode stream, i.e. mn_pim_canceller_process, what `pim cancel` runs,
# over a 32 Tx -> 16 Rx signal in 16,384-sample blocks, for each model:precision[:J] in
# STREAM_CONFIGS (J: junction's --sources, shown as junction/J) and thread count in THREADS,
# STREAM_ROUNDS times.  Prints the median samples/s,
# the fraction of LTE 20 MHz real time (30.72 Msamples/s, issue #6) and of the fp32 ceiling;
# JSON summary in BUILD_DIR/bench_stream.json, single runs in BUILD_DIR/bench_stream_runs.jsonl.
# A bf16 configuration on a CPU without AVX512_BF16 is reported as not available.  Each round
# also times the stream's complex I/O alone (bench_light --mode io: the conversions and the
# subtraction as junction's tiles do them, no model), in the JSON as io_alone.
#
# Settings (DESIGN.md, "Performance facts"):
#   - OPENBLAS_CORETYPE is unset for both engines (the environment presets it to Haswell, which
#     halves OpenBLAS's sgemm); CORETYPES="unset Haswell" measures both settings (light model).
#   - PyTorch and numpy run with GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.
#     trim_threshold=68719476736 (otherwise every large temporary costs fresh-page faults);
#     PyTorch with torch.set_num_threads(N), numpy with OPENBLAS_NUM_THREADS=N.
#   - Every engine runs with OMP_WAIT_POLICY=passive (override by exporting it): on 2 shared
#     cores, OpenMP threads spin-waiting between parallel regions steal the other core (the
#     mimonet CLI sets the same default for itself).  Both PyTorch and mimonet use libgomp.
#   - The fp32 ceiling: FMA peak PEAK_GFLOPS_PER_THREAD (default 225 GFLOP/s, ~450 on the 2
#     cores) / (2 FLOP per MAC * MAC per sample); training counts 3x the forward MACs
#     (forward, input gradient, weight gradient).  The fp64 ceiling (GMP fit) is half of it
#     (AVX-512: 8 doubles per FMA instead of 16 floats): 112.5 GFLOP/s per thread.
# Environment knobs: SECTIONS ("light csi gmp"), ROUNDS (3), REPS (15), WARMUP (3), THREADS ("1 2"),
# MODES ("infer train"), CORETYPES ("unset"), PEAK_GFLOPS_PER_THREAD (225), PYTHON
# (/usr/bin/python3); GMP_ROUNDS (ROUNDS), GMP_THREADS ("2"), GMP_REPS (3, mimonet fits per
# run after one warm-up), GMP_NP_REPS (1), GMP_NP_WARMUP (1), GMP_NP_METHODS ("lstsq"; add
# "normal" for numpy doing mimonet's normal equations); CSI_ROUNDS (ROUNDS), CSI_REPS (5),
# CSI_STEPS (5 steps per timed repetition), CSI_THREADS ("1 2"); STREAM_ROUNDS (ROUNDS),
# STREAM_CONFIGS ("light:fp32 light:bf16 junction:fp32 junction:bf16 junction:bf16:6").
# If PyTorch or numpy is missing it says so and prints mimonet's numbers alone.
set -eu
# JSON-line readers and a median for the summaries below (awk; one copy for both sections).
AWK_JSON='
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
'

BUILD=${1:-build}
BIN=$BUILD/bench_light
HERE=$(cd "$(dirname "$0")" && pwd)
SECTIONS=${SECTIONS:-"light csi gmp stream"}
ROUNDS=${ROUNDS:-3}
REPS=${REPS:-15}
WARMUP=${WARMUP:-3}
THREADS=${THREADS:-"1 2"}
MODES=${MODES:-"infer train"}
CORETYPES=${CORETYPES:-unset}
PEAK=${PEAK_GFLOPS_PER_THREAD:-225}
PYTHON=${PYTHON:-/usr/bin/python3}
TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736
GMP_ROUNDS=${GMP_ROUNDS:-$ROUNDS}
GMP_THREADS=${GMP_THREADS:-2}
GMP_REPS=${GMP_REPS:-3}
GMP_NP_REPS=${GMP_NP_REPS:-1}
GMP_NP_WARMUP=${GMP_NP_WARMUP:-1}
GMP_NP_METHODS=${GMP_NP_METHODS:-lstsq}
CSI_ROUNDS=${CSI_ROUNDS:-$ROUNDS}
CSI_REPS=${CSI_REPS:-5}
CSI_STEPS=${CSI_STEPS:-5}
CSI_THREADS=${CSI_THREADS:-"1 2"}
STREAM_ROUNDS=${STREAM_ROUNDS:-$ROUNDS}
STREAM_CONFIGS=${STREAM_CONFIGS:-"light:fp32 light:bf16 junction:fp32 junction:bf16 junction:bf16:6"}

# want SECTION: whether SECTIONS names it.
want() {
  case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

# need_bin BIN: stop when a benchmark program has not been built.
need_bin() {
  if [ ! -x "$1" ]; then
    echo "compare.sh: $1 not found; build it with: make BUILD=$BUILD $1" >&2
    exit 1
  fi
}

# peer MODULE PACKAGE WHAT: prints the Python module's version and succeeds, or says that it is
# missing (so only mimonet's WHAT numbers follow) and fails.
peer() {
  if [ -x "$PYTHON" ] && "$PYTHON" -c "import $1; print($1.__version__)" 2>/dev/null; then return 0; fi
  echo "compare.sh: $1 is not available to $PYTHON (Debian: apt-get install $2);" >&2
  echo "compare.sh: printing mimonet's $3 numbers alone." >&2
  return 1
}

# ---------------------------------------------------------------- light model vs PyTorch
if want light; then
  need_bin "$BIN"
  have_torch=0
  if torch_version=$(peer torch python3-torch "light-model"); then have_torch=1; fi

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
      -v have_torch="$have_torch" -v json_out="$BUILD/bench_light.json" "$AWK_JSON"'
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
fi

# ---------------------------------------------------------------- CSI training step vs PyTorch
if want csi; then
  CBIN=$BUILD/bench_csi
  need_bin "$CBIN"
  have_torch=0
  if torch_version=$(peer torch python3-torch CSI); then have_torch=1; fi
  CRUNS=$BUILD/bench_csi_runs.jsonl
  : > "$CRUNS"

  # csi_one ENGINE THREADS: one benchmark process, its JSON line appended to $CRUNS.
  csi_one() {
    c_engine=$1 c_th=$2
    set -- env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
    if [ "$c_engine" = mimonet ]; then
      line=$("$@" "$CBIN" --threads "$c_th" --reps "$CSI_REPS" --steps "$CSI_STEPS" --warmup 1 --json)
    else
      line=$("$@" GLIBC_TUNABLES=$TUNABLES "$PYTHON" "$HERE/torch_csi.py" --mode train --threads "$c_th" \
             --reps "$CSI_REPS" --steps "$CSI_STEPS" --warmup 1 --json)
    fi
    printf '%s\n' "$line" >> "$CRUNS"
    printf '  %-8s threads=%s  %s s/step\n' "$c_engine" "$c_th" \
      "$(printf '%s\n' "$line" | sed 's/.*"seconds_per_step_median": *\([^,}]*\).*/\1/')"
  }

  if [ "$have_torch" = 1 ]; then
    # First, that PyTorch's step is mimonet's: one dumped step of a small system, every stage
    # and every gradient compared (torch_csi.py --check exits non-zero on a mismatch).
    echo
    echo "parity: bench_csi --dump and torch_csi.py --check (one fusion training step, small system)"
    env -u OPENBLAS_CORETYPE "$CBIN" --dump "$BUILD/csi_parity" > /dev/null
    parity_rc=0
    parity=$("$PYTHON" "$HERE/torch_csi.py" --check "$BUILD/csi_parity" 2>&1) || parity_rc=$?
    printf '%s\n' "$parity" | sed 's/^/  /'
    if [ "$parity_rc" -ne 0 ]; then
      echo "compare.sh: PyTorch's CSI step does not match mimonet's; its timings would compare different work" >&2
      exit 1
    fi
  fi
  echo
  echo "mimonet vs PyTorch, CSI fusion training step (CDL size: K 2, M 32, F 48, L 8, B 8, batch 32):" \
       "$CSI_ROUNDS rounds x $CSI_REPS reps of $CSI_STEPS steps"
  r=1
  while [ "$r" -le "$CSI_ROUNDS" ]; do
    echo "round $r"
    for th in $CSI_THREADS; do
      if [ $((r % 2)) -eq 1 ] || [ "$have_torch" = 0 ]; then order="mimonet pytorch"; else order="pytorch mimonet"; fi
      for engine in $order; do
        if [ "$engine" = pytorch ] && [ "$have_torch" = 0 ]; then continue; fi
        csi_one "$engine" "$th"
      done
    done
    r=$((r + 1))
  done

  awk -v peak="$PEAK" -v rounds="$CSI_ROUNDS" -v tv="$torch_version" -v have_torch="$have_torch" \
      -v json_out="$BUILD/bench_csi.json" "$AWK_JSON"'
  {
    e = str($0, "engine"); th = num($0, "threads")
    k = e SUBSEP th
    val[k, ++cnt[k]] = num($0, "seconds_per_step_median")
    par[e] = num($0, "params"); batch = num($0, "batch")
    if (e == "mimonet") macs = num($0, "macs_per_drop")
    if (!(th in seen)) { seen[th] = 1; order[++nth] = th }
  }
  END {
    if (have_torch && par["pytorch"] != par["mimonet"])
      printf "\ncompare.sh: WARNING: the engines report different parameter counts (mimonet %s, pytorch %s)\n", par["mimonet"], par["pytorch"]
    # ceiling: 3 x the forward MACs (forward, input and weight gradients), 2 FLOP per MAC
    flops = 3 * 2 * macs * batch
    printf "\n%7s | %13s %13s %8s | %9s %9s | %12s\n", "threads", "mimonet ms", "pytorch ms", "ratio",
           "mn %ceil", "pt %ceil", "ceil ms"
    printf "%s\n", "--------------------------------------------------------------------------------"
    js = ""
    for (i = 1; i <= nth; i++) {
      th = order[i]; km = "mimonet" SUBSEP th; kp = "pytorch" SUBSEP th
      mn = (km in cnt) ? median(km) : ""; pt = (kp in cnt) ? median(kp) : ""
      ratio = (mn != "" && pt != "" && mn > 0) ? pt / mn : ""
      ceil = flops / (peak * 1e9 * th)
      printf "%7d | %13.2f %13s %8s | %8.1f%% %9s | %12.2f\n", th, 1e3 * mn,
             pt == "" ? "-" : sprintf("%.2f", 1e3 * pt), ratio == "" ? "-" : sprintf("%.2fx", ratio),
             100 * ceil / mn, pt == "" ? "-" : sprintf("%.1f%%", 100 * ceil / pt), 1e3 * ceil
      js = js (i > 1 ? ",\n    " : "") sprintf("{\"threads\":%d,\"mimonet_seconds_per_step\":%s,\"pytorch_seconds_per_step\":%s,\"ratio_pytorch_over_mimonet\":%s,\"ceiling_seconds_per_step\":%s,\"mimonet_fraction_of_ceiling\":%s,\"pytorch_fraction_of_ceiling\":%s}", th, jnum(mn), jnum(pt), jnum(ratio), jnum(ceil), jnum(ceil / mn), pt == "" ? "null" : jnum(ceil / pt))
    }
    json = sprintf("{\n  \"benchmark\": \"CSI fusion scheme, one joint training step (stage 3), batch %d\",\n  \"params\": %s,\n  \"pytorch_params\": %s,\n  \"macs_per_drop\": %s,\n  \"rounds\": %d,\n  \"statistic\": \"median over rounds of each run median\",\n  \"pytorch\": %s,\n  \"peak_gflops_per_thread\": %s,\n  \"results\": [\n    %s\n  ]\n}", batch, sprintf("%d", par["mimonet"]), have_torch ? sprintf("%d", par["pytorch"]) : "null", sprintf("%d", macs), rounds, have_torch ? "\"" tv "\"" : "null", jnum(peak), js)
    print "\n" json
    print json > json_out
  }' "$CRUNS"
fi

# ---------------------------------------------------------------- GMP fit vs numpy
if want gmp; then
  GBIN=$BUILD/bench_gmp
  GDATA=$BUILD/gmp_data
  need_bin "$GBIN"
  have_numpy=0
  if numpy_version=$(peer numpy python3-numpy GMP); then have_numpy=1; fi
  GRUNS=$BUILD/bench_gmp_runs.jsonl
  : > "$GRUNS"
  mkdir -p "$GDATA"

  # gmp_one ENGINE METHOD THREADS: one benchmark process, its JSON line appended to $GRUNS
  # (mimonet has one method, the normal equations; METHOD is numpy's).
  gmp_one() {
    g_engine=$1 g_method=$2 g_th=$3
    set -- env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
    if [ "$g_engine" = mimonet ]; then
      g_method=normal
      line=$("$@" "$GBIN" --threads "$g_th" --reps "$GMP_REPS" --warmup 1 --json)
    else
      line=$("$@" GLIBC_TUNABLES=$TUNABLES "$PYTHON" "$HERE/gmp_numpy.py" --data "$GDATA" --method "$g_method" \
             --threads "$g_th" --reps "$GMP_NP_REPS" --warmup "$GMP_NP_WARMUP" --json)
    fi
    printf '%s\n' "$line" >> "$GRUNS"
    printf '  %-8s %-6s threads=%s  %.3f s\n' "$g_engine" "$g_method" "$g_th" \
      "$(printf '%s\n' "$line" | sed 's/.*"seconds_median": *\([^,}]*\).*/\1/')"
  }

  echo
  echo "mimonet vs numpy, GMP fit (100,000 samples, 896 columns, 16 Rx): $GMP_ROUNDS rounds"
  # The data set both engines fit (and mimonet's coefficients, to check numpy's basis).
  env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}" \
    "$GBIN" --threads 2 --reps 1 --warmup 0 --save "$GDATA" > /dev/null
  first_method=$(set -- $GMP_NP_METHODS; echo "$1")
  r=1
  while [ "$r" -le "$GMP_ROUNDS" ]; do
    echo "round $r"
    for method in $GMP_NP_METHODS; do
      for th in $GMP_THREADS; do
        if [ $((r % 2)) -eq 1 ] || [ "$have_numpy" = 0 ]; then order="mimonet numpy"; else order="numpy mimonet"; fi
        for engine in $order; do
          if [ "$engine" = numpy ] && [ "$have_numpy" = 0 ]; then continue; fi
          # mimonet runs once per thread count and round, beside numpy's first method.
          if [ "$engine" = mimonet ] && [ "$method" != "$first_method" ]; then continue; fi
          gmp_one "$engine" "$method" "$th"
        done
      done
    done
    r=$((r + 1))
  done

  awk -v peak="$PEAK" -v rounds="$GMP_ROUNDS" -v nv="$numpy_version" -v have_numpy="$have_numpy" \
      -v json_out="$BUILD/bench_gmp.json" "$AWK_JSON"'
  {
    e = str($0, "engine"); m = str($0, "method"); th = num($0, "threads")
    k = e SUBSEP m SUBSEP th
    val[k, ++cnt[k]] = num($0, "seconds_median")
    if (e == "mimonet") { fl_exec = num($0, "flops_executed"); fl_classic = num($0, "flops_classic"); mn_th[th] = 1 }
    else {
      cfg = m SUBSEP th
      if (!(cfg in seen)) { seen[cfg] = 1; order[++ncfg] = cfg }
      d = num($0, "pred_vs_mimonet_db")
      if (d != "" && (!(cfg in worst) || d > worst[cfg])) worst[cfg] = d
    }
  }
  END {
    if (ncfg == 0) for (th in mn_th) order[++ncfg] = "-" SUBSEP th
    printf "\n%-7s %7s | %10s %10s %8s | %9s %9s %10s | %12s\n", "numpy", "threads", "mimonet s", "numpy s",
           "ratio", "mn GF/s", "mn %fp64", "classic GF/s", "pred diff dB"
    printf "%s\n", "-------------------------------------------------------------------------------------------------"
    js = ""
    for (i = 1; i <= ncfg; i++) {
      split(order[i], f, SUBSEP); m = f[1]; th = f[2]
      km = "mimonet" SUBSEP "normal" SUBSEP th; kn = "numpy" SUBSEP m SUBSEP th
      mn = (km in cnt) ? median(km) : ""; np = (kn in cnt) ? median(kn) : ""
      ratio = (mn != "" && np != "" && mn > 0) ? np / mn : ""
      ceil = peak / 2 * 1e9 * th
      gf = mn != "" ? fl_exec / mn / 1e9 : ""; gfc = mn != "" ? fl_classic / mn / 1e9 : ""
      frac = mn != "" ? fl_exec / mn / ceil : ""
      wd = (order[i] in worst) ? worst[order[i]] : ""
      printf "%-7s %7d | %10.3f %10s %8s | %9.1f %8.1f%% %10.1f | %12s\n", m, th, mn,
             np == "" ? "-" : sprintf("%.3f", np), ratio == "" ? "-" : sprintf("%.1fx", ratio),
             gf, 100 * frac, gfc, wd == "" ? "-" : sprintf("%.1f", wd)
      js = js (i > 1 ? ",\n    " : "") sprintf("{\"numpy_method\":\"%s\",\"threads\":%d,\"mimonet_seconds\":%s,\"numpy_seconds\":%s,\"ratio_numpy_over_mimonet\":%s,\"mimonet_gflops_executed\":%s,\"mimonet_fraction_of_fp64_ceiling\":%s,\"mimonet_gflops_classic_equivalent\":%s,\"numpy_pred_vs_mimonet_db\":%s}", m, th, jnum(mn), jnum(np), jnum(ratio), jnum(gf), jnum(frac), jnum(gfc), jnum(wd))
    }
    json = sprintf("{\n  \"benchmark\": \"GMP least-squares fit, 100000 samples, 32 Tx (M 7, K 3, P 1: 896 columns) -> 16 Rx\",\n  \"flops_executed\": %s,\n  \"flops_classic\": %s,\n  \"rounds\": %d,\n  \"statistic\": \"median over rounds of each run median\",\n  \"numpy\": %s,\n  \"fp64_peak_gflops_per_thread\": %s,\n  \"results\": [\n    %s\n  ]\n}", jnum(fl_exec), jnum(fl_classic), rounds, have_numpy ? "\"" nv "\"" : "null", jnum(peak / 2), js)
    print "\n" json
    print json > json_out
  }' "$GRUNS"
fi

# ---------------------------------------------------------------- streaming canceller (no peer)
if want stream; then
  need_bin "$BIN"
  SRUNS=$BUILD/bench_stream_runs.jsonl
  : > "$SRUNS"
  echo "streaming canceller, 32 Tx -> 16 Rx in 16,384-sample blocks: $STREAM_ROUNDS rounds x $REPS reps (+$WARMUP warm-up)"
  r=1
  while [ "$r" -le "$STREAM_ROUNDS" ]; do
    echo "round $r"
    for cfg in $STREAM_CONFIGS; do
      model=${cfg%%:*} prec=${cfg#*:} src=
      case $prec in *:*) src=${prec#*:} prec=${prec%%:*} ;; esac
      label=$model${src:+/$src}
      for th in $THREADS; do
        if line=$(env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}" "$BIN" --mode stream \
                  --model "$model" ${src:+--sources "$src"} --precision "$prec" --threads "$th" --reps "$REPS" \
                  --warmup "$WARMUP" --json 2>/dev/null); then
          printf '%s\n' "$line" >> "$SRUNS"
          printf '  %-11s %-4s threads=%s  %s samples/s\n' "$label" "$prec" "$th" \
            "$(printf '%s\n' "$line" | sed 's/.*"samples_per_s": *\([^,}]*\).*/\1/')"
        else
          printf '  %-11s %-4s threads=%s  not available on this CPU or build\n' "$label" "$prec" "$th"
        fi
      done
    done
    for th in $THREADS; do # the stream's complex I/O alone, no model
      if line=$(OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}" "$BIN" --mode io --threads "$th" --reps "$REPS" \
                --warmup "$WARMUP" --json 2>/dev/null); then
        printf '%s\n' "$line" >> "$SRUNS"
        printf '  %-16s threads=%s  %s samples/s\n' "I/O alone" "$th" \
          "$(printf '%s\n' "$line" | sed 's/.*"samples_per_s": *\([^,}]*\).*/\1/')"
      fi
    done
    r=$((r + 1))
  done
  awk -v peak="$PEAK" -v rounds="$STREAM_ROUNDS" -v reps="$REPS" -v json_out="$BUILD/bench_stream.json" "$AWK_JSON"'
  str($0, "mode") == "io" { # kept apart from the models: keys "io" and "iogb" with the thread count
    th = num($0, "threads"); k = "io" SUBSEP th; g = "iogb" SUBSEP th
    val[k, ++cnt[k]] = num($0, "samples_per_s"); val[g, ++cnt[g]] = num($0, "gb_per_s")
    if (!(th in ioseen)) { ioseen[th] = 1; ioth[++nio] = th }
    next
  }
  {
    m = str($0, "model"); p = str($0, "precision"); th = num($0, "threads")
    if (num($0, "sources") > 0) m = m "/" num($0, "sources")
    k = m SUBSEP p SUBSEP th
    val[k, ++cnt[k]] = num($0, "samples_per_s")
    macs[k] = num($0, "macs_per_sample")
    if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
  }
  END {
    if (nk == 0) { print "\nno streaming runs"; exit }
    lte = 30.72e6
    printf "\n%-11s %-5s %7s | %10s | %9s | %9s %11s\n", "model", "prec", "threads", "Msps", "% LTE-20", "% fp32 ceil", "ceil Msps"
    printf "%s\n", "----------------------------------------------------------------------------"
    js = ""
    for (i = 1; i <= nk; i++) {
      split(order[i], f, SUBSEP); m = f[1]; p = f[2]; th = f[3]
      v = median(order[i]); ceil = peak * 1e9 * th / (2 * macs[order[i]])
      printf "%-11s %-5s %7d | %10.3f | %8.1f%% | %8.1f%% %11.2f\n", m, p, th, v / 1e6, 100 * v / lte, 100 * v / ceil, ceil / 1e6
      js = js (i > 1 ? ",\n    " : "") sprintf("{\"model\":\"%s\",\"precision\":\"%s\",\"threads\":%d,\"macs_per_sample\":%s,\"samples_per_s\":%s,\"fraction_of_lte20\":%s,\"fp32_ceiling_samples_per_s\":%s,\"fraction_of_fp32_ceiling\":%s}", m, p, th, jnum(macs[order[i]]), jnum(v), jnum(v / lte), jnum(ceil), jnum(v / ceil))
    }
    ijs = ""
    for (i = 1; i <= nio; i++) { # the I/O alone: medians over rounds
      th = ioth[i]; v = median("io" SUBSEP th); g = median("iogb" SUBSEP th)
      if (i == 1) printf "\nthe complex I/O alone (tx and rx read, the output written: 512 bytes a sample; no model),\n" \
                         "a rate no stream passes; where I/O and arithmetic do not overlap, their times add:\n"
      printf "  threads=%d  %.3f Msps, %.2f GB/s\n", th, v / 1e6, g
      ijs = ijs (i > 1 ? ",\n    " : "") sprintf("{\"threads\":%d,\"samples_per_s\":%s,\"gb_per_s\":%s}", th, jnum(v), jnum(g))
    }
    json = sprintf("{\n  \"benchmark\": \"streaming canceller, 32 Tx -> 16 Rx, 16384-sample blocks\",\n  \"rounds\": %d,\n  \"reps_per_run\": %d,\n  \"statistic\": \"median over rounds of each run median\",\n  \"lte20_samples_per_s\": 30720000,\n  \"peak_gflops_per_thread\": %s,\n  \"results\": [\n    %s\n  ],\n  \"io_alone\": [\n    %s\n  ]\n}", rounds, reps, jnum(peak), js, ijs)
    print "\n" json
    print json > json_out
  }' "$SRUNS"
fi
