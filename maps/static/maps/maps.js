/* 一张蓝图 map pages: vector layers from vector tiles and by bounding box, legend, pointer coordinates (CGCS2000 and
 * Gauss–Krüger), ellipsoidal measuring, feature attributes, project locating, compliance preview,
 * imagery comparison. Everything it loads comes from this site. */
(function () {
  "use strict";

  // The CGCS2000 ellipsoid, as layers/crs.py uses it.
  var A = 6378137.0, F = 1 / 298.257222101;
  var SQUARE_METRES_PER_MU = 10000 / 15;
  var BP = { pending: 0, readyAt: null, lastMeasure: null, layers: {}, config: null };
  var T = {};  // the page's strings, Chinese or English

  function t(key) { return T[key] || key; }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (attrs[k] !== null && attrs[k] !== undefined) { node.setAttribute(k, attrs[k]); } });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function fmt(value, digits) {
    return Number(value).toLocaleString("zh-CN", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function areaText(m2) {
    return fmt(m2, 2) + " " + t("m2") + " ＝ " + fmt(m2 / SQUARE_METRES_PER_MU, 4) + " " + t("mu") +
      " ＝ " + fmt(m2 / 10000, 4) + " " + t("hectare");
  }
  BP.areaText = areaText;

  /* ---- Gauss–Krüger (transverse Mercator, Krüger's series to n^6, as PROJ's tmerc) ---- */
  var gk = (function () {
    var n = F / (2 - F), n2 = n * n, n3 = n2 * n, n4 = n3 * n, n5 = n4 * n, n6 = n5 * n;
    var e = Math.sqrt(F * (2 - F));
    var rectifying = A / (1 + n) * (1 + n2 / 4 + n4 / 64 + n6 / 256);
    var alpha = [
      n / 2 - 2 * n2 / 3 + 5 * n3 / 16 + 41 * n4 / 180 - 127 * n5 / 288 + 7891 * n6 / 37800,
      13 * n2 / 48 - 3 * n3 / 5 + 557 * n4 / 1440 + 281 * n5 / 630 - 1983433 * n6 / 1935360,
      61 * n3 / 240 - 103 * n4 / 140 + 15061 * n5 / 26880 + 167603 * n6 / 181440,
      49561 * n4 / 161280 - 179 * n5 / 168 + 6601661 * n6 / 7257600,
      34729 * n5 / 80640 - 3418889 * n6 / 1995840,
      212378941 * n6 / 319334400
    ];
    function zoneOf(lon) { return Math.round(lon / 3); }
    /* Return {zone, x: northing, y: easting without prefix, yPrefixed} in metres. */
    function forward(lon, lat, zone) {
      zone = zone || zoneOf(lon);
      var phi = lat * Math.PI / 180, lam = (lon - 3 * zone) * Math.PI / 180;
      var s = Math.sin(phi);
      var tau = Math.sinh(Math.atanh(s) - e * Math.atanh(e * s));
      var xi1 = Math.atan2(tau, Math.cos(lam));
      var eta1 = Math.atanh(Math.sin(lam) / Math.sqrt(1 + tau * tau));
      var xi = xi1, eta = eta1;
      for (var j = 1; j <= 6; j++) {
        xi += alpha[j - 1] * Math.sin(2 * j * xi1) * Math.cosh(2 * j * eta1);
        eta += alpha[j - 1] * Math.cos(2 * j * xi1) * Math.sinh(2 * j * eta1);
      }
      var y = rectifying * eta + 500000;
      return { zone: zone, x: rectifying * xi, y: y, yPrefixed: zone * 1e6 + y };
    }
    return { forward: forward, zoneOf: zoneOf };
  })();
  BP.gk = gk;

  /* ---- ellipsoidal measures (Karney's geodesics, the algorithm pyproj's Geod runs) ---- */
  var measure = (function () {
    var geod = new geodesic.Geodesic.Geodesic(A, F);
    function distance(points) {  // points: [[lon, lat], ...] → metres along geodesics
      var total = 0;
      for (var i = 1; i < points.length; i++) {
        total += geod.Inverse(points[i - 1][1], points[i - 1][0], points[i][1], points[i][0]).s12;
      }
      return total;
    }
    // Edges are straight in CGCS2000 lon/lat, as the server measures every area (layers/crs.py
    // EDGE_STEP_DEGREES): each edge is cut into equal steps of at most 0.005° (as shapely's
    // segmentize does) and the steps are measured as geodesics, so a page's figure is the server's.
    var STEP = 0.005;
    function area(points) {  // one ring [[lon, lat], ...] → m² on the ellipsoid
      var poly = geod.Polygon(false);
      points.forEach(function (p, i) {
        var q = points[(i + 1) % points.length];
        var n = Math.max(1, Math.ceil(Math.hypot(q[0] - p[0], q[1] - p[1]) / STEP));
        for (var k = 0; k < n; k++) {
          poly.AddPoint(p[1] + (q[1] - p[1]) * k / n, p[0] + (q[0] - p[0]) * k / n);
        }
      });
      return Math.abs(poly.Compute(false, true).area);
    }
    return { distance: distance, area: area };
  })();
  BP.measure = measure;

  function lonlats(latlngs) {
    return latlngs.map(function (ll) { return [ll.lng, ll.lat]; });
  }

  /* ---- vector layers: registered layers from vector tiles, project sites by bounding box ---- */
  var MAX_SPAN_DEGREES = 20;
  var TILE_PANE = "bpVectorTiles";  // above imagery (200), below project sites and highlights (400)
  var CLICK_PIXELS = 3;  // how near the pointer a feature counts as clicked

  /* A value as a reader reads it: grouped digits, areas in m² and 亩, codes named (layers/styles.py). */
  function formatValue(value, entry) {
    if (value === null || value === undefined || value === "") { return "—"; }
    if (entry.values && Object.prototype.hasOwnProperty.call(entry.values, String(value))) { return entry.values[String(value)]; }
    if (typeof value === "number") {
      if (entry.unit === "m2") { return fmt(value, 2) + " " + t("m2") + "（" + fmt(value / SQUARE_METRES_PER_MU, 2) + " " + t("mu") + "）"; }
      return Number.isInteger(value) ? fmt(value, 0) : fmt(value, 2);
    }
    return String(value);
  }
  function labelOf(def, key) {
    return (def.labels && def.labels[key]) || BP.config.fieldLabels[key] || { label: key, unit: "", values: {} };
  }
  function featureSection(def, feature) {
    var box = el("section", { "class": "bp-popup-feature", "data-slug": def.slug });
    var swatchBox = el("h4");
    swatchBox.appendChild(swatch(def.style));
    swatchBox.appendChild(document.createTextNode(def.title));
    box.appendChild(swatchBox);
    var table = el("table");
    var props = feature.properties || {};
    Object.keys(props).forEach(function (key) {
      var entry = labelOf(def, key);
      if (key.charAt(0) === "_" || entry.hidden) { return; }
      var row = el("tr");
      row.appendChild(el("th", {}, entry.label));
      row.appendChild(el("td", {}, formatValue(props[key], entry)));
      table.appendChild(row);
    });
    if (props._area_m2) {
      var row = el("tr");
      row.appendChild(el("th", {}, t("area")));
      row.appendChild(el("td", {}, areaText(props._area_m2)));
      table.appendChild(row);
    }
    box.appendChild(table);
    if (props._url) {
      box.appendChild(el("a", { href: props._url, "class": "bp-popup-link" }, t("open_project") + " ›"));
    }
    return box;
  }
  function popupOptions() {
    var w = window.innerWidth, h = window.innerHeight;
    // Leaflet's popup adds ~45 px of margins around the content.
    return { maxWidth: Math.min(360, w - 80), minWidth: Math.min(220, w - 80), maxHeight: Math.min(340, Math.round(h * 0.5)),
      autoPanPadding: [12, 12], className: "bp-popup-wrap" };
  }

  function featurePopup(sections) {
    var box = el("div", { "class": "bp-popup" });
    sections.forEach(function (section) { box.appendChild(section); });
    return box;
  }

  function setStatus(layer, status, count) {
    layer.status = status;
    var node = document.querySelector('[data-bp-status="' + layer.def.slug + '"]');
    if (node) {
      node.textContent = status === "zoomin" ? t("zoom_in") : status === "truncated" ? t("truncated") :
        status === "error" ? t("load_failed") : "";
      node.setAttribute("data-count", count === undefined ? "" : count);
    }
  }
  function noteIdle() {
    if (BP.pending === 0 && BP.readyAt === null) { BP.readyAt = performance.now(); }
  }

  /* VectorGrid's tile fetch, made abortable: a tile dropped while it loads (a quick pan) is neither
   * decoded nor drawn. A failed fetch draws an empty tile and marks the layer. */
  var AbortableTiles = L.VectorGrid.Protobuf.extend({
    _getVectorTilePromise: function (coords) {
      var self = this, key = this._tileCoordsToKey(coords), controller = new AbortController();
      this._bpFetches = this._bpFetches || {};
      this._bpFetches[key] = controller;
      // Read by the prototype's fetch() call below, synchronously.
      this.options.fetchOptions = { credentials: "same-origin", signal: controller.signal };
      return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords).catch(function (err) {
        if (err.name !== "AbortError") { self.fire("bptileerror", { coords: coords, error: err }); }
        return { layers: {} };
      }).then(function (tile) {
        if (self._bpFetches[key] === controller) { delete self._bpFetches[key]; }
        return tile;
      });
    },
    abortTile: function (key) {
      var controller = this._bpFetches && this._bpFetches[key];
      if (controller) { controller.abort(); delete this._bpFetches[key]; }
    }
  });

  /* The fill of a style on canvas: its colour, or a pattern of hatching over it (8 px, so it runs on
   * across 256-px tiles; the PNG map tiles draw the same lines, layers/map_tiles.py). */
  var PATTERNS = {};
  function hatched(style) { return !!style.hatch && style.hatch !== "none"; }
  function fillOf(style) {
    var colour = style.fillColor || style.color;
    if (!hatched(style)) { return colour; }
    var key = style.hatch + colour + (style.hatchColor || style.color);
    if (!PATTERNS[key]) {
      var c = document.createElement("canvas");
      c.width = c.height = 8;
      var g = c.getContext("2d");
      g.globalAlpha = style.fillOpacity;  // the pattern carries the opacity: its lines stay strong
      g.fillStyle = colour;
      g.fillRect(0, 0, 8, 8);
      g.globalAlpha = 0.85;
      g.fillStyle = style.hatchColor || style.color;
      for (var i = 0; i < 8; i++) {
        if (style.hatch === "diagonal" || style.hatch === "cross") { g.fillRect(i, 7 - i, 1, 1); }
        if (style.hatch === "cross") { g.fillRect(i, i, 1, 1); }
        if (style.hatch === "horizontal") { g.fillRect(i, 7, 1, 1); }
        if (style.hatch === "vertical") { g.fillRect(7, i, 1, 1); }
      }
      PATTERNS[key] = g.createPattern(c, "repeat");
    }
    return PATTERNS[key];
  }
  BP.fillOf = fillOf;

  /* A registered layer drawn from the OGC vector tiles with VectorGrid's canvas renderer: each
   * tile is fetched, decoded and drawn in a task of its own, and no tile is ever truncated. The
   * canvases take no pointer events (VectorGrid 1.3's click handling calls L.DomEvent.fakeStop,
   * gone since Leaflet 1.8); a click on the map looks the features up instead (addFeatureInfo).
   * A dense layer (def.map_tiles, below style.raster_below) comes as PNG map tiles drawn by the
   * server instead: one image per tile, decoded off the main thread, no script per feature.
   * BP.pending counts the layer as loading while any of its tiles is. */
  function TiledLayer(map, def) {
    var self = this, style = def.style, paint = {};
    var vectorFrom = def.map_tiles ? Math.max(style.min_zoom, style.raster_below) : style.min_zoom;
    this.map = map;
    this.def = def;
    this.loading = {};
    this.busy = false;
    this.tilesLoaded = 0;
    this.failed = false;
    this.status = "idle";
    paint[def.slug] = { color: style.color, weight: style.weight, opacity: style.opacity === undefined ? 1 : style.opacity,
      fill: style.fillOpacity > 0, fillColor: fillOf(style), fillOpacity: hatched(style) ? 1 : style.fillOpacity,
      dashArray: style.dashArray || null, radius: 5, interactive: false };
    this.vector = new AbortableTiles(def.tiles, {
      rendererFactory: L.canvas.tile, vectorTileLayerStyles: paint, interactive: false, pane: TILE_PANE,
      zIndex: style.order, minZoom: vectorFrom, updateWhenZooming: false,
      className: "bp-tiles bp-tiles-" + def.slug, getFeatureId: function (feature) { return feature.id; }
    });
    this.watch(this.vector, "v");
    this.vector.on("tileunload", function (e) { self.vector.abortTile(self.vector._tileCoordsToKey(e.coords)); });
    this.vector.on("bptileerror", function () { self.fail(); });
    this.group = this.vector;
    if (def.map_tiles) {
      this.raster = L.tileLayer(def.map_tiles, {
        pane: TILE_PANE, zIndex: style.order, minZoom: style.min_zoom, maxZoom: vectorFrom - 1,
        updateWhenZooming: false, className: "bp-maptiles bp-maptiles-" + def.slug
      });
      this.watch(this.raster, "r");
      this.raster.on("tileerror", function (e) { self.fail(); self.track("r", e.coords, false); });
      this.group = L.layerGroup([this.raster, this.vector]);
    }
  }
  TiledLayer.prototype.watch = function (grid, kind) {
    var self = this;
    grid.on("tileloadstart", function (e) { self.track(kind, e.coords, true); });
    grid.on("tileload", function (e) { self.tilesLoaded += 1; self.track(kind, e.coords, false); });
    grid.on("tileunload", function (e) { self.track(kind, e.coords, false); });
    grid.on("tileabort", function (e) { self.track(kind, e.coords, false); });  // L.TileLayer, zooming away
  };
  TiledLayer.prototype.fail = function () { this.failed = true; setStatus(this, "error"); };
  TiledLayer.prototype.track = function (kind, coords, loading) {
    var key = kind + ":" + coords.x + ":" + coords.y + ":" + coords.z;
    if (loading) { this.loading[key] = true; } else { delete this.loading[key]; }
    var busy = Object.keys(this.loading).length > 0;
    if (busy !== this.busy) {
      this.busy = busy;
      BP.pending += busy ? 1 : -1;
      noteIdle();
    }
  };
  TiledLayer.prototype.refresh = function () {
    if (!this.map.hasLayer(this.group)) { return; }
    var below = this.map.getZoom() < this.def.style.min_zoom;
    setStatus(this, below ? "zoomin" : this.failed ? "error" : "ok");
  };
  TiledLayer.prototype.clear = function () { this.failed = false; };
  TiledLayer.prototype.setOpacity = function (value) {
    this.vector.setOpacity(value);
    if (this.raster) { this.raster.setOpacity(value); }
  };
  /* What the loaded vector tiles hold: per tile its address and the feature ids drawn (for the tests). */
  TiledLayer.prototype.drawn = function () {
    var grid = this.vector, out = [];
    Object.keys(grid._tiles || {}).forEach(function (key) {
      var tile = grid._tiles[key], renderer = grid._vectorTiles[key];
      if (!tile.loaded || !renderer) { return; }
      out.push({ z: tile.coords.z, x: tile.coords.x, y: tile.coords.y,
        ids: Object.keys(renderer._features || {}).map(Number) });
    });
    return out;
  };

  /* The loaded PNG map tiles: their addresses (for the tests and the bench). */
  TiledLayer.prototype.images = function () {
    var grid = this.raster, out = [];
    Object.keys((grid && grid._tiles) || {}).forEach(function (key) {
      var tile = grid._tiles[key];
      if (tile.el.classList.contains("leaflet-tile-loaded")) {
        out.push({ z: tile.coords.z, x: tile.coords.x, y: tile.coords.y });
      }
    });
    return out;
  };

  /* A click on the map (not on a project site, which answers itself): the features of the tiled
   * layers under the pointer, with all their attributes and area, from the bbox endpoint for a
   * box of a few pixels, kept when they contain the point. One popup, the smallest feature first
   * (a farmland patch before its county, the county before its city). */
  function ringsContain(rings, x, y) {
    var inside = false;  // even-odd over all rings: holes count out
    rings.forEach(function (ring) {
      for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
        if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { inside = !inside; }
      }
    });
    return inside;
  }
  function nearLine(map, line, point) {
    var pts = line.map(function (c) { return map.latLngToContainerPoint([c[1], c[0]]); });
    if (pts.length === 1) { return pts[0].distanceTo(point) <= CLICK_PIXELS; }
    for (var i = 1; i < pts.length; i++) {
      if (L.LineUtil.pointToSegmentDistance(point, pts[i - 1], pts[i]) <= CLICK_PIXELS) { return true; }
    }
    return false;
  }
  function geometryHit(map, geometry, latlng) {
    var c = geometry && geometry.coordinates, point = map.latLngToContainerPoint(latlng);
    switch (geometry && geometry.type) {
      case "Polygon": return ringsContain(c, latlng.lng, latlng.lat);
      case "MultiPolygon": return c.some(function (p) { return ringsContain(p, latlng.lng, latlng.lat); });
      case "LineString": return nearLine(map, c, point);
      case "MultiLineString": return c.some(function (l) { return nearLine(map, l, point); });
      case "Point": return nearLine(map, [c], point);
      case "MultiPoint": return c.some(function (p) { return nearLine(map, [p], point); });
      default: return false;
    }
  }
  /* The clicked feature, outlined over everything until the popup closes or another is clicked. */
  var SELECTED = { color: "#00e5ff", weight: 4, opacity: 0.95, fillColor: "#00e5ff", fillOpacity: 0.12 };
  function select(map, feature) {
    BP.selection.clearLayers();
    BP.selected = feature ? { id: feature.id, properties: feature.properties } : null;
    if (feature && feature.geometry) {
      drawGeoJSON(BP.selection, feature.geometry, "bp-selected-feature", SELECTED);
    }
  }

  function addFeatureInfo(map) {
    BP.selection = L.featureGroup().addTo(map);
    map.on("popupclose", function () { BP.selection.clearLayers(); BP.selected = null; });
    map.on("click", function (e) {
      if (BP.mode) { return; }  // measuring or drawing a site
      var zoom = map.getZoom(), p = e.containerPoint;
      var layers = Object.keys(BP.layers).map(function (k) { return BP.layers[k]; }).filter(function (layer) {
        return layer.def.tiles && map.hasLayer(layer.group) && zoom >= layer.def.style.min_zoom;
      }).sort(function (a, b) { return b.def.style.order - a.def.style.order; });
      if (!layers.length) { return; }
      var sw = map.containerPointToLatLng([p.x - CLICK_PIXELS, p.y + CLICK_PIXELS]);
      var ne = map.containerPointToLatLng([p.x + CLICK_PIXELS, p.y - CLICK_PIXELS]);
      var bbox = [sw.lng, sw.lat, ne.lng, ne.lat].map(function (v) { return v.toFixed(7); }).join(",");
      BP.lookups = (BP.lookups || 0) + 1;
      Promise.all(layers.map(function (layer) {
        return fetch(layer.def.url + "?bbox=" + bbox + "&zoom=" + zoom, { headers: { Accept: "application/geo+json" } })
          .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error(layer.def.slug + " " + r.status)); })
          .then(function (data) {
            return data.features.filter(function (f) { return geometryHit(map, f.geometry, e.latlng); })
              .map(function (f) { return { def: layer.def, feature: f }; });
          });
      })).then(function (found) {
        var hits = [].concat.apply([], found).sort(function (a, b) {
          return (a.feature.properties._area_m2 || 0) - (b.feature.properties._area_m2 || 0);
        });
        var sections = hits.map(function (hit) { return featureSection(hit.def, hit.feature); });
        BP.lastLookup = { latlng: [e.latlng.lng, e.latlng.lat], found: sections.length };
        if (sections.length) {
          L.popup(popupOptions()).setLatLng(e.latlng).setContent(featurePopup(sections)).openOn(map);
        }
        select(map, hits.length ? hits[0].feature : null);  // after openOn: closing the old popup clears
      }, function (err) {
        BP.lastLookup = { latlng: [e.latlng.lng, e.latlng.lat], error: String(err) };
      });
    });
  }

  function BboxLayer(map, def) {
    this.map = map;
    this.def = def;
    this.loaded = null;
    this.controller = null;
    this.status = "idle";
    this.opacity = 1;
    var self = this, style = def.style;
    this.group = L.geoJSON(null, {
      style: function () {
        return { color: style.color, weight: style.weight, fillColor: style.fillColor || style.color,
          opacity: self.opacity, fillOpacity: style.fillOpacity * self.opacity, dashArray: style.dashArray || null, className: "bp-layer-" + def.slug,
          bubblingMouseEvents: false };  // a site answers its own click: no look-up below it
      },
      onEachFeature: function (feature, layer) {
        layer.bindPopup(function () { return featurePopup([featureSection(def, feature)]); }, popupOptions());
        layer.on("click", function () { setTimeout(function () { select(map, feature); }, 0); });
      }
    });
  }
  BboxLayer.prototype.setStatus = function (status, count) { setStatus(this, status, count); };
  BboxLayer.prototype.clear = function () { this.loaded = null; this.group.clearLayers(); };
  BboxLayer.prototype.setOpacity = function (value) {
    var style = this.def.style;
    this.opacity = value;
    this.group.setStyle({ opacity: value, fillOpacity: style.fillOpacity * value });
  };
  BboxLayer.prototype.refresh = function () {
    var self = this, map = this.map;
    if (!map.hasLayer(this.group)) { return; }
    var zoom = map.getZoom(), view = map.getBounds();
    var tooWide = view.getEast() - view.getWest() > MAX_SPAN_DEGREES / 1.6 ||
      view.getNorth() - view.getSouth() > MAX_SPAN_DEGREES / 1.6;
    if (zoom < this.def.style.min_zoom || tooWide) {
      this.group.clearLayers();
      this.loaded = null;
      this.setStatus("zoomin");
      return;
    }
    if (this.loaded && this.loaded.zoom === zoom && this.loaded.bounds.contains(view)) { return; }
    var box = view.pad(0.25);
    var bbox = [box.getWest(), box.getSouth(), box.getEast(), box.getNorth()].map(function (v) {
      return v.toFixed(6);
    }).join(",");
    if (this.controller) { this.controller.abort(); }
    var controller = this.controller = new AbortController();
    BP.pending += 1;
    fetch(this.def.url + "?bbox=" + bbox + "&zoom=" + zoom, { signal: controller.signal,
      headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error(r.status)); })
      .then(function (data) {
        self.group.clearLayers();
        self.group.addData(data);
        self.loaded = { zoom: zoom, bounds: box };
        self.setStatus(data.truncated ? "truncated" : "ok", data.features.length);
      })
      .catch(function (err) {
        if (err.name !== "AbortError") { self.setStatus("error"); }
      })
      .finally(function () {
        BP.pending -= 1;
        if (self.controller === controller) { self.controller = null; }
        noteIdle();
      });
  };

  function swatch(style) {
    var s = el("span", { "class": "bp-swatch" });
    s.style.borderColor = style.color;
    var fill = style.fillOpacity > 0 ? (style.fillColor || style.color) : "transparent";
    s.style.backgroundColor = fill;
    if (hatched(style) && style.fillOpacity > 0) {
      var line = style.hatchColor || style.color;
      var angle = { diagonal: "45deg", cross: "45deg", horizontal: "0deg", vertical: "90deg" }[style.hatch];
      s.style.backgroundImage = "repeating-linear-gradient(" + angle + ", " + line + " 0 1px, transparent 1px 4px)" +
        (style.hatch === "cross" ? ", repeating-linear-gradient(-45deg, " + line + " 0 1px, transparent 1px 4px)" : "");
      s.setAttribute("data-hatch", style.hatch);
    }
    if (style.dashArray) { s.style.borderStyle = "dashed"; }
    return s;
  }

  function legendItem(def) {
    var span = el("span", { "class": "bp-legend-item", "data-slug": def.slug });
    span.appendChild(swatch(def.style));
    span.appendChild(el("span", { "class": "bp-legend-title" }, def.title));
    span.appendChild(el("small", { "class": "bp-status", "data-bp-status": def.slug }));
    return span;
  }

  /* The basemaps to choose from: the configured one (BASEMAP_URL: the city's own or a 天地图 node),
   * our offline one (districts, water, terrain, names, drawn by this server), a plain background. */
  function basemapLayers(config) {
    return (config.basemaps || []).map(function (b) {
      var layer = L.tileLayer(b.url, { maxZoom: 19, maxNativeZoom: b.max_zoom || 18,
        subdomains: b.subdomains || "abc", attribution: b.attribution || "", className: "bp-basemap bp-basemap-" + b.key,
        pane: "tilePane", zIndex: 0 });
      // The map is usable once its basemap is drawn too: count it as loading while its tiles are.
      var busy = false;
      function set(value) { if (value !== busy) { busy = value; BP.pending += value ? 1 : -1; noteIdle(); } }
      layer.on("loading", function () { set(true); });
      layer.on("load remove", function () { set(false); });
      return { key: b.key, title: b.title, layer: layer };
    });
  }

  /* The legend: basemaps, then the groups (基础, 三区三线, 项目, 影像), each with its layers' swatches,
   * a tick per layer and an opacity slider for the group. */
  function addLayers(map, config) {
    var pane = map.createPane(TILE_PANE);
    pane.style.zIndex = 350;
    pane.style.pointerEvents = "none";
    var bases = basemapLayers(config);
    bases.push({ key: "plain", title: t("plain_background"), layer: L.layerGroup() });
    bases[0].layer.addTo(map);
    BP.basemap = bases[0].key;
    var members = {};  // group → [layer wrappers]
    (config.imagery || []).forEach(function (img) {
      var tiles = L.tileLayer(img.url, { maxZoom: 19, attribution: img.title, className: "bp-imagery bp-imagery-" + img.slug, zIndex: 5 });
      var wrapper = { def: { slug: img.slug, title: img.title, style: { color: "#555", fillColor: "#9aa", fillOpacity: 0.6, group: "imagery" } },
        group: tiles, refresh: function () {}, clear: function () {}, setOpacity: function (v) { tiles.setOpacity(v); } };
      BP.layers[img.slug] = wrapper;
      (members.imagery = members.imagery || []).push(wrapper);
    });
    (config.layers || []).forEach(function (def) {
      var layer = def.tiles ? new TiledLayer(map, def) : new BboxLayer(map, def);
      BP.layers[def.slug] = layer;
      var key = def.style.group || "control";
      (members[key] = members[key] || []).push(layer);
      if (def.style.on) { layer.group.addTo(map); }
    });
    var Legend = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var box = el("div", { "class": "bp-legend leaflet-control-layers leaflet-control-layers-expanded", id: "bp-legend" });
        box.appendChild(el("div", { "class": "bp-legend-head" }, t("legend")));
        var baseBox = el("fieldset", { "class": "bp-legend-group", "data-group": "basemap" });
        baseBox.appendChild(el("legend", {}, t("basemap")));
        bases.forEach(function (b, i) {
          var label = el("label"), input = el("input", { type: "radio", name: "bp-basemap", value: b.key });
          input.checked = i === 0;
          input.addEventListener("change", function () {
            bases.forEach(function (other) { if (map.hasLayer(other.layer)) { map.removeLayer(other.layer); } });
            b.layer.addTo(map);
            BP.basemap = b.key;
          });
          label.appendChild(input);
          label.appendChild(el("span", { "class": "bp-legend-title" }, b.title));
          baseBox.appendChild(label);
        });
        box.appendChild(baseBox);
        (config.groups || []).forEach(function (group) {
          var list = members[group.key];
          if (!list || !list.length) { return; }
          var set = el("fieldset", { "class": "bp-legend-group", "data-group": group.key });
          set.appendChild(el("legend", {}, group.title));
          list.forEach(function (layer) {
            var label = el("label"), input = el("input", { type: "checkbox", "data-slug": layer.def.slug });
            input.checked = map.hasLayer(layer.group);
            input.addEventListener("change", function () {
              if (input.checked) { layer.group.addTo(map); layer.refresh(); }
              else { map.removeLayer(layer.group); layer.clear(); }
            });
            label.appendChild(input);
            label.appendChild(legendItem(layer.def));
            set.appendChild(label);
          });
          var slider = el("input", { type: "range", min: "0", max: "100", value: "100", "data-bp-opacity": group.key,
            "aria-label": group.title + " " + t("opacity"), title: t("opacity") });
          slider.addEventListener("input", function () {
            list.forEach(function (layer) { layer.setOpacity(Number(slider.value) / 100); });
          });
          var row = el("div", { "class": "bp-opacity" });
          row.appendChild(el("span", {}, t("opacity")));
          row.appendChild(slider);
          set.appendChild(row);
          box.appendChild(set);
        });
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        this._box = box;
        return box;
      },
      /* A page's own entry (projects.js: the lines around a site), in a group of its own. */
      addOverlay: function (group, item) {
        var set = this._box.querySelector('fieldset[data-group="context"]');
        if (!set) {
          set = el("fieldset", { "class": "bp-legend-group", "data-group": "context" });
          set.appendChild(el("legend", {}, t("around_site_group")));
          this._box.appendChild(set);
        }
        var label = el("label"), input = el("input", { type: "checkbox" });
        input.checked = map.hasLayer(group);
        input.addEventListener("change", function () {
          if (input.checked) { group.addTo(map); } else { map.removeLayer(group); }
        });
        label.appendChild(input);
        label.appendChild(item);
        set.appendChild(label);
        return this;
      }
    });
    BP.legend = new Legend().addTo(map);
    function refreshAll() { Object.keys(BP.layers).forEach(function (k) { BP.layers[k].refresh(); }); }
    map.on("moveend", refreshAll);
    refreshAll();
    noteIdle();
    addFeatureInfo(map);
  }

  /* ---- pointer coordinates: CGCS2000 degrees and the 3° Gauss–Krüger zone ---- */
  function addPointer(map) {
    var Pointer = L.Control.extend({
      options: { position: "bottomleft" },
      onAdd: function () {
        var box = el("div", { "class": "bp-pointer leaflet-bar", id: "bp-pointer" }, t("pointer_hint"));
        return box;
      }
    });
    var control = new Pointer().addTo(map);
    function show(ll) {
      var p = gk.forward(ll.lng, ll.lat);
      control.getContainer().textContent = "CGCS2000 " + ll.lng.toFixed(6) + "°E, " + ll.lat.toFixed(6) +
        "°N ｜ " + t("gk_zone").replace("{zone}", p.zone) + " X " + p.x.toFixed(2) + " Y " + p.yPrefixed.toFixed(2);
    }
    BP.showPointer = show;
    map.on("mousemove", function (e) { show(e.latlng); });
  }

  /* ---- measuring distance and area on the CGCS2000 ellipsoid ---- */
  function lengthText(metres) {
    return metres >= 10000 ? fmt(metres / 1000, 3) + " " + t("kilometres") : fmt(metres, 2) + " " + t("metres");
  }
  function measureText(kind, pts) {
    if (kind === "line") { return t("distance") + " " + lengthText(measure.distance(pts)); }
    var text = t("perimeter") + " " + lengthText(measure.distance(pts.concat([pts[0]])));
    return pts.length >= 3 ? t("area") + " " + areaText(measure.area(pts)) + "；" + text : text;
  }
  function addMeasure(map) {
    var results = L.featureGroup().addTo(map);
    var handler = null;
    var output = el("div", { "class": "bp-measure-result", id: "bp-measure-result" });
    function points(extra) {
      var pts = lonlats((handler && handler._markers || []).map(function (m) { return m.getLatLng(); }));
      if (extra) { pts.push([extra.lng, extra.lat]); }
      return pts;
    }
    /* While drawing: the length (area and perimeter) so far, to the pointer, and how to finish. */
    function running(extra) {
      if (BP.mode !== "measure" || !handler) { return; }
      var kind = handler._bpMeasure, pts = points(extra);
      var hint = t(kind === "line" ? "measure_line_hint" : "measure_area_hint");
      output.textContent = pts.length >= 2 ? t("running") + " " + measureText(kind, pts) + "\n" + hint : hint;
      BP.runningMeasure = pts.length >= 2 ? { kind: kind, points: pts } : null;
    }
    function start(kind) {
      if (handler) { handler.disable(); }
      var opts = { showLength: false, showArea: false, shapeOptions: { color: "#0050b3", weight: 3 } };
      handler = kind === "line" ? new L.Draw.Polyline(map, opts) : new L.Draw.Polygon(map, opts);
      handler._bpMeasure = kind;
      BP.mode = "measure";
      handler.enable();
      running();
    }
    map.on("draw:drawvertex", function () { running(); });
    map.on("mousemove", function (e) { if (BP.mode === "measure" && handler && handler._markers && handler._markers.length) { running(e.latlng); } });
    map.on("draw:drawstop", function () {  // after draw:created, or on cancel
      if (BP.mode === "measure") { BP.mode = null; if (!BP.lastMeasure) { output.textContent = ""; } }
    });
    map.on("draw:created", function (e) {
      if (BP.mode !== "measure") { return; }
      BP.mode = null;
      var lls = e.layer.getLatLngs();
      var pts = lonlats(Array.isArray(lls[0]) ? lls[0] : lls);
      var result = { kind: e.layerType, points: pts };
      if (e.layerType === "polyline") {
        result.metres = measure.distance(pts);
      } else {
        result.m2 = measure.area(pts);
        result.perimeter = measure.distance(pts.concat([pts[0]]));
      }
      var text = measureText(e.layerType === "polyline" ? "line" : "area", pts);
      BP.lastMeasure = result;
      output.textContent = text;
      e.layer.bindTooltip(text, { permanent: true, className: "bp-measure-tip" });
      results.addLayer(e.layer);
    });
    var Measure = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var box = el("div", { "class": "bp-measure leaflet-bar" });
        [["line", t("measure_distance")], ["area", t("measure_area")], ["clear", t("clear")]].forEach(function (b) {
          var a = el("a", { href: "#", role: "button", "data-measure": b[0], title: b[1] }, b[1]);
          L.DomEvent.on(a, "click", function (ev) {
            L.DomEvent.stop(ev);
            if (b[0] === "clear") {
              if (handler) { handler.disable(); }
              results.clearLayers(); output.textContent = ""; BP.lastMeasure = null;
            } else { BP.lastMeasure = null; start(b[0]); }
          });
          box.appendChild(a);
        });
        box.appendChild(output);
        L.DomEvent.disableClickPropagation(box);
        return box;
      }
    });
    new Measure().addTo(map);
  }

  function localiseDraw() {
    if (!T.draw_start) { return; }
    var h = L.drawLocal.draw.handlers;
    h.polyline.tooltip = { start: t("draw_start"), cont: t("draw_cont"), end: t("draw_line_end") };
    h.polygon.tooltip = { start: t("draw_start"), cont: t("draw_cont"), end: t("draw_polygon_end") };
    h.polyline.error = t("draw_cross");
    L.drawLocal.draw.toolbar.actions = { title: t("cancel"), text: t("cancel") };
    L.drawLocal.draw.toolbar.finish = { title: t("finish"), text: t("finish") };
    L.drawLocal.draw.toolbar.undo = { title: t("undo"), text: t("undo") };
  }

  /* ---- highlighted geometries (located results, sites, conflicts) ---- */
  function drawGeoJSON(group, geometry, className, style) {
    var layer = L.geoJSON(geometry, {
      style: function () { return Object.assign({ className: className }, style); },
      pointToLayer: function (f, ll) {
        return L.circleMarker(ll, Object.assign({ radius: 9, className: className }, style));
      }
    });
    group.addLayer(layer);
    return layer;
  }
  var HIGHLIGHT = { color: "#00e5ff", weight: 4, fillColor: "#00e5ff", fillOpacity: 0.15 };
  var SITE = { color: "#0050b3", weight: 3, fillOpacity: 0.05 };
  var CONFLICT = { color: "#a8071a", weight: 2, fillColor: "#ff4d4f", fillOpacity: 0.6 };
  BP.styles = { highlight: HIGHLIGHT, site: SITE, conflict: CONFLICT };

  function fitTo(map, bbox, geometry) {
    if (!bbox) { return; }
    if (geometry && geometry.type === "Point") {
      map.setView([bbox[1], bbox[0]], Math.max(map.getZoom(), 14));
    } else {
      map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]], { padding: [30, 30], maxZoom: 17 });
    }
  }

  function drawCheck(map, group, check) {
    group.clearLayers();
    (check.findings || []).forEach(function (f) {
      if (f.conflict) { drawGeoJSON(group, f.conflict, "bp-conflict bp-conflict-" + f.layer, CONFLICT); }
    });
    drawGeoJSON(group, check.site, "bp-site", SITE);  // last: the site's outline above the conflict fill
    var bounds = group.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 17 }); }
  }
  BP.drawCheck = drawCheck;

  /* ---- the page around the map: the menu and the panel's drawer on a phone, the legend folded ---- */
  var PHONE = "(max-width: 760px)";
  function addChrome(map) {
    function toggle(button, target, cls) {
      if (!button || !target) { return; }
      button.addEventListener("click", function () {
        var open = target.classList.toggle(cls);
        button.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    toggle(document.getElementById("bp-menu-toggle"), document.querySelector(".bp-nav"), "bp-nav-open");
    toggle(document.getElementById("bp-drawer-handle"), document.getElementById("bp-panel"), "bp-drawer-open");
    var legend = BP.legend && BP.legend.getContainer();
    if (legend) {
      if (window.matchMedia(PHONE).matches) { legend.classList.add("bp-legend-collapsed"); }
      legend.querySelector(".bp-legend-head").addEventListener("click", function () {
        if (window.matchMedia(PHONE).matches) { legend.classList.toggle("bp-legend-collapsed"); }
      });
    }
    BP.openDrawer = function () {
      var panel = document.getElementById("bp-panel");
      if (panel && window.matchMedia(PHONE).matches) { panel.classList.add("bp-drawer-open"); }
    };
    map.invalidateSize();
  }

  BP.start = function (map, config) {
    BP.config = config;
    BP.map = map;
    T = config.i18n || {};
    config.fieldLabels = config.fieldLabels || {};
    localiseDraw();
    L.control.scale({ imperial: false }).addTo(map);
    addLayers(map, config);
    addPointer(map);
    addMeasure(map);
    BP.highlights = L.featureGroup().addTo(map);
    (config.highlight || []).forEach(function (h) { drawGeoJSON(BP.highlights, h.geometry, h.className, BP.styles[h.style]); });
    if (config.fit && BP.highlights.getLayers().length) {
      map.fitBounds(BP.highlights.getBounds(), { padding: [30, 30], maxZoom: 17 });
    }
    addChrome(map);
    var page = BP.pages[config.page];
    if (page) { page(map, config); }
    document.documentElement.setAttribute("data-bp-ready", "1");
  };
  BP.idle = function () { return BP.pending === 0; };
  BP.pages = {};
  BP.util = { el: el, t: t, fmt: fmt, drawGeoJSON: drawGeoJSON, fitTo: fitTo, lonlats: lonlats,
    legendLabel: legendItem, featureSection: featureSection, featurePopup: featurePopup };
  window.BP = BP;
})();
