#!/usr/bin/env bash
# Refresh the browser libraries served from our own static files (no CDN on government intranets).
# A maintainer's one-off step; the files it writes are committed.
source "$(dirname "$0")/lib.sh"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack ol@7.2.2 --silent >/dev/null && tar xzf ol-7.2.2.tgz)
mkdir -p "$ROOT/blueprint/static/vendor/ol"
cp "$tmp/package/dist/ol.js" "$tmp/package/ol.css" "$tmp/package/LICENSE.md" "$ROOT/blueprint/static/vendor/ol/"
say "OpenLayers 7.2.2 copied to blueprint/static/vendor/ol"

# Leaflet.VectorGrid (the map pages' vector tiles, canvas renderer): the bundle carries its pbf decoder.
(cd "$tmp" && npm pack leaflet.vectorgrid@1.3.0 --silent >/dev/null && mkdir vg && tar xzf leaflet.vectorgrid-1.3.0.tgz -C vg)
vg="$ROOT/maps/static/maps/vendor/leaflet-vectorgrid"
mkdir -p "$vg"
cp "$tmp/vg/package/dist/Leaflet.VectorGrid.bundled.min.js" "$vg/"
sed -n '/^## Legalese/,$p' "$tmp/vg/package/README.md" > "$vg/LICENSE"  # the package has no licence file
say "Leaflet.VectorGrid 1.3.0 copied to maps/static/maps/vendor/leaflet-vectorgrid"
