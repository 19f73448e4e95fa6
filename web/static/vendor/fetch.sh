#!/usr/bin/env bash
# Fetches the vendored front-end files from the npm registry and records where they came from.
# Run it from anywhere to refresh web/static/vendor; the result is committed, so neither running
# nor testing grassroots needs npm or a network.
set -euo pipefail
cd "$(dirname "$0")"
HTMX=2.0.11
ECHARTS=6.1.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() { # package version → unpacked directory
	(cd "$work" && npm pack --silent "$1@$2" >/dev/null)
	local tgz
	tgz=$(ls "$work"/*.tgz)
	mkdir -p "$work/$1"
	tar -xzf "$tgz" -C "$work/$1" --strip-components=1
	rm "$tgz"
}

fetch htmx.org "$HTMX"
cp "$work/htmx.org/dist/htmx.min.js" htmx.min.js
cp "$work/htmx.org/LICENSE" htmx.LICENSE

fetch echarts "$ECHARTS"
cp "$work/echarts/dist/echarts.min.js" echarts.min.js
cp "$work/echarts/LICENSE" echarts.LICENSE
cp "$work/echarts/NOTICE" echarts.NOTICE 2>/dev/null || true

{
	echo "# Vendored front-end files"
	echo
	echo "Fetched by \`fetch.sh\` with \`npm pack\` from the npm registry on $(date -u +%Y-%m-%d)."
	echo
	echo "| file | package | version | sha256 |"
	echo "|---|---|---|---|"
	for f in htmx.min.js echarts.min.js; do
		case $f in htmx*) p=htmx.org v=$HTMX ;; *) p=echarts v=$ECHARTS ;; esac
		echo "| $f | $p | $v | $(sha256sum "$f" | cut -d' ' -f1) |"
	done
	echo
	echo "Licences: htmx.LICENSE (BSD Zero-Clause), echarts.LICENSE (Apache-2.0), echarts.NOTICE."
} > README.md
