#!/bin/sh
# check.sh renders Mermaid graphs the way GitHub shows a pull-request
# comment (npm's mermaid@11, default configuration) in headless Chromium,
# and fails if one of them draws Mermaid's error diagram ("Syntax error",
# "Edge limit exceeded", "Maximum text size in diagram exceeded") or does
# not draw at all. Without arguments it checks every golden graph of
# render/testdata: the .mmd files and the mermaid blocks of the .md
# comments. Run it as `make check-graphs`; it installs Debian's chromium
# (apt-get) and mermaid (npm, into a cache directory) when they are
# absent. It is not part of `make test`: it needs the network once, and a
# browser.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${PHOENIX_CHECK_GRAPHS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/phoenix/check-graphs}
mermaid_js=$cache/node_modules/mermaid/dist/mermaid.min.js

browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
	browser=$(command -v chromium || command -v chromium-browser || true)
fi
if [ -z "$browser" ]; then
	echo "check-graphs: installing Debian's chromium"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
	browser=$(command -v chromium)
fi
if [ ! -f "$mermaid_js" ]; then
	echo "check-graphs: installing mermaid@11 into $cache"
	mkdir -p "$cache"
	npm install --prefix "$cache" --no-audit --no-fund --silent mermaid@11
fi

if [ "$#" -eq 0 ]; then
	set -- "$root"/render/testdata/*.mmd "$root"/render/testdata/*.md
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$here/page.mjs" "$mermaid_js" "$work/page.html" "$@"
# The page renders every graph, then writes its verdicts into the DOM that
# --dump-dom prints; a page that never finishes prints no verdict line.
timeout 300 "$browser" --headless --no-sandbox --disable-gpu --allow-file-access-from-files \
	--virtual-time-budget=120000 --dump-dom "file://$work/page.html" 2>"$work/browser.log" >"$work/dom.html" || true
status=0
node "$here/verdict.mjs" "$work/dom.html" || status=$?
if [ "$status" -eq 2 ]; then
	grep -v dbus "$work/browser.log" | sed -n '1,20p' >&2
fi
exit "$status"
