#!/bin/sh
# tools/fuzz.sh — build mimonet's libFuzzer targets (fuzz/fuzz_*.c) with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer and run each for FUZZ_SECONDS seconds from its
# committed seed corpus (fuzz/corpus/<target>/).  Prints executions and crashes per target and
# exits non-zero when any target crashed (or failed to build).
#
#   sh tools/fuzz.sh                     build + run every target, FUZZ_SECONDS=60 each
#   FUZZ_SECONDS=10 sh tools/fuzz.sh npy csv     only these targets
#   sh tools/fuzz.sh --build             build only
#   sh tools/fuzz.sh --corpus            (re)generate the seed corpora with fuzz/make_corpus.c
#
# Bounded mode (what CI uses): FUZZ_RUNS=N stops each target after N executions and
# FUZZ_SEED=S fixes libFuzzer's random seed (FUZZ_SECONDS still caps the time).  Runs still
# differ, because libFuzzer's corpus scheduling depends on timing; a crash is real and its
# artifact replays it.
#   FUZZ_RUNS=200000 FUZZ_SEED=1 FUZZ_SECONDS=300 sh tools/fuzz.sh
#
# Environment: FUZZ_SECONDS (60), FUZZ_RUNS, FUZZ_SEED, FUZZ_CC (clang), FUZZ_BUILD (build-fuzz), FUZZ_JOBS (2, for
# compiling), FUZZ_ARGS (extra libFuzzer flags), MN_FUZZ_MAT_V73=1 (also fuzz MAT v7.3/HDF5
# files; off by default: HDF5 1.10 crashes on corrupted files, see src/io/mat.c), TMPDIR (where
# the harnesses write each input; default /dev/shm when writable).
# New inputs found while fuzzing go to $FUZZ_BUILD/corpus/<target>/ (not committed); crash
# reproducers to $FUZZ_BUILD/artifacts/<target>/.  Reproduce: $FUZZ_BUILD/fuzz_<target> FILE.
set -u
cd "$(dirname "$0")/.." || exit 2

SECONDS_EACH=${FUZZ_SECONDS:-60}
CCF=${FUZZ_CC:-clang}
B=${FUZZ_BUILD:-build-fuzz}
JOBS=${FUZZ_JOBS:-2}
PKG=${PKGCONF:-pkg-config}
ALL_TARGETS="npy csv sigmf safetensors mat model_json args"

MODE=run
case "${1:-}" in
--build) MODE=build; shift ;;
--corpus) MODE=corpus; shift ;;
esac
TARGETS=${*:-$ALL_TARGETS}

if ! command -v "$CCF" >/dev/null 2>&1; then
    echo "fuzz: $CCF not found; install clang (Debian: apt-get install clang)" >&2
    exit 2
fi

# Same dependency detection and -D flags as the Makefile (OpenMP left out: the parsers do not
# use it and clang's libomp may be missing).
DEP_CFLAGS=""
DEP_LIBS=""
if $PKG --exists libcjson 2>/dev/null; then
    DEP_CFLAGS="$DEP_CFLAGS $($PKG --cflags libcjson)"; DEP_LIBS="$DEP_LIBS $($PKG --libs libcjson)"
else DEP_LIBS="$DEP_LIBS -lcjson"; fi
if $PKG --exists fftw3f 2>/dev/null; then
    DEP_CFLAGS="$DEP_CFLAGS $($PKG --cflags fftw3f)"; DEP_LIBS="$DEP_LIBS $($PKG --libs fftw3f)"
else DEP_LIBS="$DEP_LIBS -lfftw3f"; fi
if $PKG --exists openblas 2>/dev/null; then
    DEP_CFLAGS="$DEP_CFLAGS -DMN_HAVE_CBLAS $($PKG --cflags openblas)"; DEP_LIBS="$DEP_LIBS $($PKG --libs openblas)"
fi
if $PKG --exists lapacke 2>/dev/null; then
    DEP_CFLAGS="$DEP_CFLAGS -DMN_HAVE_LAPACKE $($PKG --cflags lapacke)"; DEP_LIBS="$DEP_LIBS $($PKG --libs lapacke)"
fi
if $PKG --exists matio 2>/dev/null; then
    DEP_CFLAGS="$DEP_CFLAGS -DMN_HAVE_MATIO $($PKG --cflags matio)"; DEP_LIBS="$DEP_LIBS $($PKG --libs matio)"
    if $PKG --exists zlib 2>/dev/null; then
        DEP_CFLAGS="$DEP_CFLAGS -DMN_HAVE_ZLIB $($PKG --cflags zlib)"; DEP_LIBS="$DEP_LIBS $($PKG --libs zlib)"
    fi
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS_F="-std=c11 -D_GNU_SOURCE -O1 -g $SAN -fsanitize=fuzzer-no-link -Wall -Wno-unused-parameter \
 -Wno-unknown-pragmas -Iinclude $DEP_CFLAGS"

# ---------------------------------------------------------------- build the library objects
# Only the modules the parsers need (pim/csi/report are not parsers and are left out).
LIB_SRC=$(ls src/core/*.c src/nn/*.c src/optim/*.c src/io/*.c src/dsp/*.c src/cli/args.c 2>/dev/null | sort)
mkdir -p "$B/obj"
: > "$B/objs.list"
: > "$B/build.fail"
for src in $LIB_SRC; do
    obj="$B/obj/$(echo "$src" | tr '/' '_' | sed 's/\.c$/.o/')"
    echo "$obj" >> "$B/objs.list"
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find include src -name '*.h' -newer "$obj" 2>/dev/null | head -1)" ]; then
        echo "$src $obj"
    fi
done > "$B/todo.list"
if [ -s "$B/todo.list" ]; then
    echo "fuzz: compiling $(wc -l < "$B/todo.list") library file(s) with $CCF (ASan+UBSan+fuzzer)"
    # shellcheck disable=SC2086
    xargs -P "$JOBS" -L 1 sh -c "$CCF $CFLAGS_F -c \"\$0\" -o \"\$1\" || echo \"\$0\" >> $B/build.fail" < "$B/todo.list"
fi
if [ -s "$B/build.fail" ]; then
    echo "fuzz: failed to compile: $(cat "$B/build.fail")" >&2
    exit 2
fi
rm -f "$B/libmimonet_fuzz.a"
# shellcheck disable=SC2046
ar rcs "$B/libmimonet_fuzz.a" $(cat "$B/objs.list") || exit 2

if [ "$MODE" = corpus ]; then
    # shellcheck disable=SC2086
    $CCF $CFLAGS_F -fsanitize=address,undefined -o "$B/make_corpus" fuzz/make_corpus.c "$B/libmimonet_fuzz.a" \
        $DEP_LIBS -lm || exit 2
    ASAN_OPTIONS=detect_leaks=0 "$B/make_corpus" fuzz/corpus || exit 1
    du -sh fuzz/corpus
    exit 0
fi

for t in $TARGETS; do
    if [ ! -f "fuzz/fuzz_$t.c" ]; then echo "fuzz: no target fuzz/fuzz_$t.c" >&2; exit 2; fi
    # shellcheck disable=SC2086
    $CCF $CFLAGS_F -fsanitize=fuzzer -o "$B/fuzz_$t" "fuzz/fuzz_$t.c" "$B/libmimonet_fuzz.a" $DEP_LIBS -lm || exit 2
done
[ "$MODE" = build ] && exit 0

# ---------------------------------------------------------------- run
# The harnesses hand every input to the readers as a file: on tmpfs that is ~7x the executions
# per second of a disk-backed /tmp (22k/s vs 3.3k/s for npy on the 2-core build machine).
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
max_len() {
    case "$1" in
    args) echo 512 ;;
    model_json) echo 4096 ;;
    npy|csv|sigmf) echo 8192 ;;
    *) echo 16384 ;;
    esac
}

EXTRA=""
[ -n "${FUZZ_RUNS:-}" ] && EXTRA="$EXTRA -runs=$FUZZ_RUNS"
[ -n "${FUZZ_SEED:-}" ] && EXTRA="$EXTRA -seed=$FUZZ_SEED"
FAILED=0
SUMMARY=""
for t in $TARGETS; do
    mkdir -p "$B/corpus/$t" "$B/artifacts/$t" "fuzz/corpus/$t"
    log="$B/fuzz_$t.log"
    before=$(ls "$B/artifacts/$t" | grep -c -E '^(crash|leak|oom|timeout)-')
    if [ -n "${FUZZ_RUNS:-}" ]; then
        # Bounded: start from the committed seeds only (no inputs left by earlier runs).
        rm -rf "$B/corpus/$t" && mkdir -p "$B/corpus/$t"
        echo "fuzz: $t for ${FUZZ_RUNS} runs (seed ${FUZZ_SEED:-random}, at most ${SECONDS_EACH}s)"
    else
        echo "fuzz: $t for ${SECONDS_EACH}s"
    fi
    # New inputs go to the first (build) folder; the committed seeds are read only.
    # shellcheck disable=SC2086
    ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}" \
        "$B/fuzz_$t" -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$B/artifacts/$t/" $EXTRA ${FUZZ_ARGS:-} \
        "$B/corpus/$t" "fuzz/corpus/$t" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=$(( $(ls "$B/artifacts/$t" | grep -c -E '^(crash|leak|oom|timeout)-') - before ))
    [ -n "$execs" ] || execs=?
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        FAILED=1
        echo "fuzz: $t FAILED (exit $rc); see $log and $B/artifacts/$t/" >&2
        grep -m 5 -E 'ERROR|SUMMARY|runtime error|fuzz:' "$log" >&2
    fi
    rate=?
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    [ -n "$secs" ] || secs=$SECONDS_EACH
    [ "$execs" != "?" ] && rate=$((execs / (secs > 0 ? secs : 1)))
    SUMMARY="$SUMMARY$(printf '%-12s executions %-10s (%s/s)  crashes %s' "$t" "$execs" "$rate" "$crashes")
"
done
if [ -n "${FUZZ_RUNS:-}" ]; then
    echo "fuzz summary (${FUZZ_RUNS} runs per target, seed ${FUZZ_SEED:-random}, ASan+UBSan):"
else
    echo "fuzz summary (${SECONDS_EACH}s per target, ASan+UBSan):"
fi
printf '%s' "$SUMMARY"
exit $FAILED
