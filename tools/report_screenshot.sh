#!/bin/sh
# Render a PIM report page (report.html from `mimonet demo` or `pim eval --report`) in headless
# Chromium and save a screenshot, to check that the page renders and to look at it.
#
# Usage: tools/report_screenshot.sh REPORT_DIR [OUT.png]     (default OUT: REPORT_DIR/report.png)
# Needs Chromium (Debian: apt-get install chromium); not part of the build or the tests.
set -eu
DIR=${1:?usage: tools/report_screenshot.sh REPORT_DIR [OUT.png]}
OUT=${2:-$DIR/report.png}
if [ ! -f "$DIR/report.html" ]; then
  echo "report_screenshot: no $DIR/report.html" >&2
  exit 2
fi
BROWSER=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$BROWSER" ]; then
  echo "report_screenshot: needs Chromium (Debian: apt-get install chromium)" >&2
  exit 2
fi
PAGE="file://$(cd "$DIR" && pwd)/report.html"
case $OUT in /*) ;; *) OUT="$(pwd)/$OUT" ;; esac
rm -f "$OUT"
# --no-sandbox: Chromium refuses to run as root otherwise; the page is a local file.
"$BROWSER" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,4400 \
  --screenshot="$OUT" "$PAGE" >/dev/null 2>&1 || true
if [ ! -s "$OUT" ]; then
  echo "report_screenshot: Chromium wrote no screenshot of $PAGE" >&2
  exit 1
fi
echo "report_screenshot: wrote $OUT"
