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

# pygeoapi's HTML pages (/ogc/…) load these from CDNs; api/ogc/html.py points them here instead.
(cd "$tmp" && for p in bootstrap@5.1.3 leaflet.markercluster@1.5.3 swagger-ui-dist@5.17.14; do
  npm pack "$p" --silent >/dev/null; done
  for f in bootstrap-5.1.3 leaflet.markercluster-1.5.3 swagger-ui-dist-5.17.14; do
  mkdir "$f" && tar xzf "$f.tgz" -C "$f"; done)
v="$ROOT/blueprint/static/vendor"
mkdir -p "$v/bootstrap" "$v/leaflet.markercluster" "$v/swagger-ui"
cp "$tmp/bootstrap-5.1.3/package/dist/css/bootstrap.min.css" "$tmp/bootstrap-5.1.3/package/LICENSE" "$v/bootstrap/"
mc="$tmp/leaflet.markercluster-1.5.3/package"
cp "$mc/dist/MarkerCluster.css" "$mc/dist/MarkerCluster.Default.css" "$mc/dist/leaflet.markercluster.js" \
   "$mc/MIT-LICENCE.txt" "$v/leaflet.markercluster/"
sw="$tmp/swagger-ui-dist-5.17.14/package"
cp "$sw/swagger-ui-bundle.js" "$sw/swagger-ui-standalone-preset.js" "$sw/swagger-ui.css" "$sw/favicon-16x16.png" \
   "$sw/favicon-32x32.png" "$sw/LICENSE" "$sw/NOTICE" "$v/swagger-ui/"
# Source maps are not shipped: drop the references to them (a browser would ask for them).
sed -i '/sourceMappingURL/d' "$v/leaflet.markercluster/leaflet.markercluster.js"
sed -i 's|/\*# sourceMappingURL=[^*]*\*/||' "$v/bootstrap/bootstrap.min.css" "$v/swagger-ui/swagger-ui.css"
say "Bootstrap 5.1.3 (CSS), Leaflet.markercluster 1.5.3 and swagger-ui 5.17.14 copied to blueprint/static/vendor"

# Apache ECharts (the statistics dashboard's charts and county map): the full minified build.
(cd "$tmp" && npm pack echarts@6.1.0 --silent >/dev/null && mkdir ec && tar xzf echarts-6.1.0.tgz -C ec)
ec="$ROOT/maps/static/maps/vendor/echarts"
mkdir -p "$ec"
cp "$tmp/ec/package/dist/echarts.min.js" "$tmp/ec/package/LICENSE" "$tmp/ec/package/NOTICE" "$ec/"
cp "$tmp/ec/package/licenses/LICENSE-d3" "$ec/"
say "Apache ECharts 6.1.0 copied to maps/static/maps/vendor/echarts"
