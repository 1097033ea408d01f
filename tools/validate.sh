#!/bin/sh
# make validate — real-data checks that are not part of the test suite.
#
# OpenDPD measured PA recordings (../shared/datasets/opendpd, or $MN_DATASETS/opendpd) as 1x1
# behavioural-model tasks: learn PA output from PA input on the train file (the val file is
# the validation split), then report test NMSE beside the published figures.  Skips with a
# message when the data is absent (a user's clone does not have it).
#
# Usage: tools/validate.sh [BUILD_DIR]   (STEPS=N overrides the neural training steps)
set -eu
BUILD=${1:-build}
MN=$BUILD/mimonet
DATA=${MN_DATASETS:-../shared/datasets}/opendpd
STEPS=${STEPS:-4000}
if [ ! -d "$DATA" ]; then
  echo "validate: $DATA not found; nothing to validate (set MN_DATASETS to the datasets folder)"
  exit 0
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT INT TERM

# Published test NMSE (dB), from ../shared/datasets/README.md.
published() {
  case "$1" in
    APA_200MHz) echo "MP -36.96, GMP -38.66, GRU -38.94, TRes-DeltaGRU -39.18 (~2.7k params; noise floor ~ -39)" ;;
    DPA_200MHz) echo "MP (K 9, memory 20) -34.99" ;;
  esac
}

# Join train and val into one file pair so --split can hold val out as the validation part.
join_csv() { { cat "$1"; tail -n +2 "$2"; } > "$3"; }

printf '%-11s %-8s %8s %10s %12s  %s\n' set model params "MAC/samp" "test NMSE" "published"
for set in APA_200MHz DPA_200MHz; do
  d=$DATA/$set
  [ -f "$d/train_input.csv" ] || { echo "validate: $d incomplete; skipped"; continue; }
  join_csv "$d/train_input.csv" "$d/val_input.csv" "$OUT/in.csv"
  join_csv "$d/train_output.csv" "$d/val_output.csv" "$OUT/out.csv"
  ntr=$(($(wc -l < "$d/train_input.csv") - 1))
  nva=$(($(wc -l < "$d/val_input.csv") - 1))
  split="$ntr,$nva,0"
  for model in gmp light dynamic; do
    case $model in
      # 30 taps span 31-38 ns at these rates; lags add the envelope's past (Morgan's GMP).
      gmp) extra="--memory 30 --order 5 --lag 8" ;;
      *) extra="--steps $STEPS --batch 8 --window 2048" ;;
    esac
    # shellcheck disable=SC2086
    "$MN" pim train --tx "$OUT/in.csv" --rx "$OUT/out.csv" --split "$split" --model $model $extra \
      --out "$OUT/$set.$model.safetensors" --force --quiet >/dev/null
    js=$("$MN" pim eval --model "$OUT/$set.$model.safetensors" --tx "$d/test_input.csv" \
      --rx "$d/test_output.csv" --split 0,0,1 --json)
    nmse=$(echo "$js" | sed -n 's/.*"nmse_db":\([-0-9.e]*\).*/\1/p')
    params=$(echo "$js" | sed -n 's/.*"params":\([0-9]*\).*/\1/p')
    macs=$(echo "$js" | sed -n 's/.*"macs_per_sample":\([0-9]*\).*/\1/p')
    printf '%-11s %-8s %8s %10s %9.2f dB  %s\n' "$set" "$model" "$params" "$macs" "$nmse" "$(published $set)"
  done
done
