#!/usr/bin/env bash
# Builds Prometheus Alertmanager from the Go module proxy, for
# `alertload -alertmanager BIN` (the same load against Alertmanager, on the
# same machine in the same hour).
#
#   bench/alertload/build-alertmanager.sh [VERSION] [OUT]
#
# VERSION defaults to v0.35.0 (the version the alerting issue names), OUT to
# /tmp/alertmanager. The module holds no built web UI (ui/app/dist is made
# by npm in Alertmanager's own build), and the binary embeds it: a
# placeholder stands in, which the API under load never serves.
set -euo pipefail
version=${1:-v0.35.0}
out=${2:-/tmp/alertmanager}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod download -json "github.com/prometheus/alertmanager@$version" > info.json
dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' info.json)
cp -r "$dir" src
chmod -R u+w src
cd src
for d in ui/app/dist/elm ui/app/dist/mantine; do
	mkdir -p "$d"
	echo '<!doctype html><title>placeholder</title>' > "$d/index.html"
done
echo '<!doctype html><title>placeholder</title>' > ui/app/dist/index.html
go build -o "$out" ./cmd/alertmanager
echo "built $out ($("$out" --version 2>&1 | head -1))"
