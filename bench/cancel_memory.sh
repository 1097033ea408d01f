#!/bin/sh
# bench/cancel_memory.sh — peak memory and throughput of `mimonet pim cancel` on a long
# recording (issue 6: peak RSS <= 64 MiB on a 10^8-sample file).
#
#   sh bench/cancel_memory.sh [BUILD]        (BUILD defaults to build)
#
# Environment: SAMPLES (1e8), NTX (32), NRX (16), MODEL (light), DIR (a fresh folder under
# /var/tmp; removed at the end unless KEEP=1).  The files are large: (NTX + 2 NRX) x 8 bytes a
# sample, 51 GB for the defaults; the script checks the free space first.
#
# Steps: simulate a short 32 x 16 recording and train MODEL on it for a few steps (the weights
# do not matter for memory or speed), write tx.npy [NTX, SAMPLES] and rx.npy [NRX, SAMPLES]
# by repeating one random block (numpy), then run `pim cancel` under /usr/bin/time -v and
# report the maximum resident set size, the wall time and the samples per second.
set -eu
cd "$(dirname "$0")/.." || exit 2
B=${1:-build}
M="$B/mimonet"
SAMPLES=${SAMPLES:-100000000}
NTX=${NTX:-32}
NRX=${NRX:-16}
MODEL=${MODEL:-light}
PY=/usr/bin/python3
[ -x "$M" ] || { echo "cancel_memory: build first (make)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "cancel_memory: needs /usr/bin/time (Debian package 'time')" >&2; exit 2; }
DIR=${DIR:-$(mktemp -d /var/tmp/mimonet-cancel.XXXXXX)}
mkdir -p "$DIR"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"; }
trap cleanup EXIT INT TERM

need=$(( (NTX + 2 * NRX) * 8 * SAMPLES / 1000000 + 100 ))   # MB
have=$(df -Pm "$DIR" | awk 'NR == 2 { print $4 }')
if [ "$have" -lt "$need" ]; then
    echo "cancel_memory: $DIR has $have MB free, $need MB needed (SAMPLES=$SAMPLES)" >&2
    exit 2
fi

echo "cancel_memory: training a $MODEL model for $NTX Tx -> $NRX Rx (a few steps)"
"$M" pim simulate --out "$DIR/sim" --tx "$NTX" --rx "$NRX" --samples 40000 --quiet --no-plot
"$M" pim train --data "$DIR/sim" --out "$DIR/model.safetensors" --model "$MODEL" --steps 20 --quiet >/dev/null

echo "cancel_memory: writing tx.npy [$NTX, $SAMPLES] and rx.npy [$NRX, $SAMPLES] ($need MB)"
"$PY" - "$DIR" "$NTX" "$NRX" "$SAMPLES" <<'EOF'
import sys
import numpy as np
d, ntx, nrx, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
blk = 1 << 20
rng = np.random.default_rng(1)
for name, nch in (("tx", ntx), ("rx", nrx)):
    a = np.lib.format.open_memmap(f"{d}/{name}.npy", mode="w+", dtype=np.complex64, shape=(nch, n))
    base = (rng.standard_normal((nch, blk)) + 1j * rng.standard_normal((nch, blk))).astype(np.complex64)
    for i in range(0, n, blk):
        m = min(blk, n - i)
        a[:, i:i + m] = base[:, :m]
        a.flush()
    del a
EOF
sync

echo "cancel_memory: pim cancel (default --block, all cores)"
/usr/bin/time -v "$M" pim cancel --model "$DIR/model.safetensors" --tx "$DIR/tx.npy" --rx "$DIR/rx.npy" \
    --out "$DIR/out.npy" --quiet 2> "$DIR/time.txt"
rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$DIR/time.txt")
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): *//p' "$DIR/time.txt")
secs=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
out_bytes=$(stat -c %s "$DIR/out.npy")
echo "cancel_memory: samples $SAMPLES  tx $NTX  rx $NRX  model $MODEL"
echo "cancel_memory: peak RSS $(( rss_kb / 1024 )) MiB  wall ${secs} s  $(echo "$SAMPLES $secs" | awk '{ printf "%.2f", $1 / $2 / 1e6 }') Msps  out.npy $out_bytes bytes"
