#!/bin/sh
# report-screenshot.sh: build volley, run its demo corpus with an HTML report
# and take a screenshot of the report with headless Chromium, to look at the
# page as people will.
#
# Usage: scripts/report-screenshot.sh [OUT.png]     (default: report.png)
# The report itself is kept next to the screenshot (OUT.html).
# Environment: CHROMIUM (the browser), SIZE (window, default 1400,1000).
set -eu

out=${1:-report.png}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
size=${SIZE:-1400,1000}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$chromium" ]; then
	echo "report-screenshot: no chromium (apt-get install -y chromium, or set CHROMIUM)" >&2
	exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$root" && go build -o "$work/volley" ./cmd/volley)

# The demo fails, crashes and hangs on purpose: its exit status is 1.
"$work/volley" demo --dir "$work/demo" --html "$work/demo/report.html" >"$work/demo.log" 2>&1 || true
if [ ! -s "$work/demo/report.html" ]; then
	cat "$work/demo.log" >&2
	echo "report-screenshot: volley demo wrote no report" >&2
	exit 1
fi
cp "$work/demo/report.html" "${out%.png}.html"

# Headless, off the network, with a throwaway profile.
if ! "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--disable-dev-shm-usage --user-data-dir="$work/profile" --hide-scrollbars \
	--window-size="$size" --screenshot="$out" "file://$work/demo/report.html" >"$work/chromium.log" 2>&1; then
	cat "$work/chromium.log" >&2
	echo "report-screenshot: chromium failed" >&2
	exit 1
fi
echo "report-screenshot: $out (report: ${out%.png}.html)"
