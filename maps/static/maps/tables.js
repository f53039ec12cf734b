/* 属性表 on the blueprint map: a layer's features within the view or a drawn area, sortable, paged,
 * a click zooms to the feature; the same selection exported (GeoJSON, GeoPackage, Shapefile, Excel)
 * and the map printed as a 专题图 PDF. Loaded after maps.js; only the browser page uses it. */
(function () {
  "use strict";
  var BP = window.BP, U = BP.util, el = U.el;
  var EXPORTS = [["geojson", "GeoJSON"], ["gpkg", "GeoPackage"], ["shp", "Shapefile (zip)"], ["xlsx", "Excel"]];

  function w(key) { return (BP.config.words || {})[key] || key; }

  function tableLayers(config) {
    return (config.layers || []).filter(function (d) { return d.tiles; });  // registered feature layers
  }

  function Table(map, config) {
    this.map = map;
    this.config = config;
    this.state = { slug: null, sort: "_fid", order: "asc", page: 1, area: null };
    this.highlight = L.featureGroup().addTo(map);
    this.drawn = L.featureGroup().addTo(map);
    this.box = this.build();
  }

  Table.prototype.build = function () {
    var self = this, box = el("section", { "class": "bp-table-drawer", id: "bp-attribute-table", hidden: "" });
    var head = el("div", { "class": "bp-table-head" });
    var select = this.select = el("select", { id: "bp-table-layer", "aria-label": w("table_layer") });
    tableLayers(this.config).forEach(function (d) { select.appendChild(el("option", { value: d.slug }, d.title)); });
    head.appendChild(el("strong", {}, w("attribute_table")));
    head.appendChild(select);
    var scope = this.scope = el("select", { id: "bp-table-scope", "aria-label": w("table_scope") });
    scope.appendChild(el("option", { value: "view" }, w("in_view")));
    scope.appendChild(el("option", { value: "area" }, w("in_area")));
    head.appendChild(scope);
    var draw = el("button", { type: "button", id: "bp-table-draw" }, w("draw_area"));
    head.appendChild(draw);
    var exports = el("span", { "class": "bp-table-exports" }, w("export") + "：");
    EXPORTS.forEach(function (f) {
      var a = el("a", { href: "#", "data-format": f[0], id: "bp-export-" + f[0] }, f[1]);
      a.addEventListener("click", function () { a.href = self.url("export." + f[0]); });
      exports.appendChild(a);
    });
    head.appendChild(exports);
    var close = el("button", { type: "button", "class": "bp-table-close", title: w("close") }, "×");
    head.appendChild(close);
    box.appendChild(head);
    this.status = el("div", { "class": "bp-table-status", id: "bp-table-status" });
    box.appendChild(this.status);
    this.grid = el("div", { "class": "bp-table-grid" });
    box.appendChild(this.grid);
    this.pager = el("div", { "class": "bp-table-pager", id: "bp-table-pager" });
    box.appendChild(this.pager);
    select.addEventListener("change", function () { self.reset(); });
    scope.addEventListener("change", function () { self.state.page = 1; self.load(); });
    draw.addEventListener("click", function () { self.drawArea(); });
    close.addEventListener("click", function () { box.hidden = true; });
    this.map.on("moveend", function () {
      if (!box.hidden && !self.holding && scope.value === "view") { self.load(); }
    });
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    this.map.getContainer().appendChild(box);
    return box;
  };

  Table.prototype.reset = function () {
    this.state = { slug: this.select.value, sort: "_fid", order: "asc", page: 1, area: this.state.area };
    this.load();
  };

  Table.prototype.url = function (what) {
    var params = new URLSearchParams();
    if (this.scope.value === "area" && this.state.area) { params.set("area", JSON.stringify(this.state.area)); }
    else {
      var b = this.map.getBounds();
      params.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
        return v.toFixed(6); }).join(","));
    }
    if (what === "table") {
      params.set("sort", this.state.sort);
      params.set("order", this.state.order);
      params.set("page", this.state.page);
    }
    return "/maps/data/" + this.select.value + "/" + what + "?" + params.toString();
  };

  Table.prototype.drawArea = function () {
    var self = this, handler = new L.Draw.Polygon(this.map, { showArea: false, showLength: false,
      allowIntersection: false, shapeOptions: { color: "#fa8c16", weight: 2, fillOpacity: 0.05 } });
    BP.mode = "table";
    this.map.once("draw:created", function (e) {
      BP.mode = null;
      self.drawn.clearLayers();
      self.drawn.addLayer(e.layer);
      self.state.area = e.layer.toGeoJSON().geometry;
      self.scope.value = "area";
      self.state.page = 1;
      self.load();
    });
    handler.enable();
  };

  Table.prototype.open = function () {
    this.box.hidden = false;
    if (!this.state.slug) { this.state.slug = this.select.value; }
    this.load();
  };

  Table.prototype.load = function () {
    var self = this;
    if (this.scope.value === "area" && !this.state.area) { this.status.textContent = w("draw_first"); return; }
    this.status.textContent = w("loading");
    BP.pending += 1;
    fetch(this.url("table"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (body) { if (!r.ok) { throw new Error(body.detail); } return body; }); })
      .then(function (body) { self.render(body); })
      .catch(function (err) { self.status.textContent = err.message; })
      .finally(function () { BP.pending -= 1; });
  };

  Table.prototype.render = function (body) {
    var self = this, labels = BP.config.fieldLabels || {};
    this.last = body;
    this.status.textContent = w("table_total").replace("{n}", U.fmt(body.total, 0));
    this.status.setAttribute("data-total", body.total);
    var table = el("table", { "class": "bp-table", id: "bp-table-rows" });
    var head = el("tr");
    ["_fid"].concat(body.fields, ["_area_m2"]).forEach(function (field) {
      var th = el("th", { "data-sort": field, "class": "bp-sortable" },
        field === "_fid" ? w("fid") : field === "_area_m2" ? w("area_m2") : (labels[field] || field));
      if (body.sort === field) { th.classList.add("bp-sorted-" + body.order); }
      th.addEventListener("click", function () {
        self.state.order = self.state.sort === field && self.state.order === "asc" ? "desc" : "asc";
        self.state.sort = field;
        self.state.page = 1;
        self.load();
      });
      head.appendChild(th);
    });
    table.appendChild(head);
    body.rows.forEach(function (row) {
      var tr = el("tr", { "class": "bp-table-row", "data-fid": row.fid });
      tr.appendChild(el("td", {}, row.fid));
      body.fields.forEach(function (f) { var v = row.properties[f]; tr.appendChild(el("td", {}, v === null || v === undefined ? "—" : v)); });
      tr.appendChild(el("td", { "class": "bp-num" }, row.area_m2 === null ? "—" : U.fmt(row.area_m2, 2)));
      tr.addEventListener("click", function () { self.zoomTo(row, tr); });
      table.appendChild(tr);
    });
    this.grid.innerHTML = "";
    this.grid.appendChild(table);
    this.pager.innerHTML = "";
    var prev = el("button", { type: "button", id: "bp-table-prev" }, w("previous"));
    var next = el("button", { type: "button", id: "bp-table-next" }, w("next"));
    prev.disabled = body.page <= 1;
    next.disabled = body.page >= body.pages;
    prev.addEventListener("click", function () { self.state.page -= 1; self.load(); });
    next.addEventListener("click", function () { self.state.page += 1; self.load(); });
    this.pager.appendChild(prev);
    this.pager.appendChild(el("span", {}, w("page").replace("{n}", body.page).replace("{of}", body.pages)));
    this.pager.appendChild(next);
  };

  Table.prototype.zoomTo = function (row, tr) {
    var self = this, b = row.bbox;
    this.highlight.clearLayers();
    L.rectangle([[b[1], b[0]], [b[3], b[2]]], { color: "#00e5ff", weight: 3, fill: false, className: "bp-table-pick" })
      .addTo(this.highlight);
    Array.prototype.forEach.call(this.grid.querySelectorAll(".bp-selected"), function (n) { n.classList.remove("bp-selected"); });
    tr.classList.add("bp-selected");
    this.holding = true;  // the table stays as it is while the map moves to the feature
    this.map.once("moveend", function () { setTimeout(function () { self.holding = false; }, 0); });
    this.map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [40, 40], maxZoom: 18, animate: false });
  };

  function addButton(map, table) {
    var Control = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var box = el("div", { "class": "bp-tools leaflet-bar" });
        var open = el("a", { href: "#", role: "button", id: "bp-open-table" }, w("attribute_table"));
        L.DomEvent.on(open, "click", function (e) { L.DomEvent.stop(e); table.open(); });
        box.appendChild(open);
        if (BP.openPrint) {
          var print = el("a", { href: "#", role: "button", id: "bp-open-print" }, w("print"));
          L.DomEvent.on(print, "click", function (e) { L.DomEvent.stop(e); BP.openPrint(map); });
          box.appendChild(print);
        }
        L.DomEvent.disableClickPropagation(box);
        return box;
      }
    });
    new Control().addTo(map);
  }

  /* ---- 专题图: the current view as a PDF (maps/prints.py) ---- */
  BP.openPrint = function (map) {
    var form = document.getElementById("bp-print-form");
    if (!form) {
      form = el("form", { id: "bp-print-form", "class": "bp-print-form" });
      var title = el("input", { id: "bp-print-title", name: "title", maxlength: "60", value: w("print_default_title") });
      var size = el("select", { id: "bp-print-size", name: "size" });
      ["A4", "A3"].forEach(function (s) { size.appendChild(el("option", { value: s }, s)); });
      var go = el("a", { id: "bp-print-go", href: "#", download: "" }, w("print_pdf"));
      var cancel = el("button", { type: "button" }, w("close"));
      [el("strong", {}, w("print")), title, size, go, cancel].forEach(function (n) { form.appendChild(n); });
      go.addEventListener("click", function () {
        var b = map.getBounds(), params = new URLSearchParams({
          bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(","),
          size: size.value, title: title.value,
          layers: Object.keys(BP.layers).filter(function (k) { return map.hasLayer(BP.layers[k].group); }).join(",")
        });
        go.href = "/maps/print.pdf?" + params.toString();
      });
      cancel.addEventListener("click", function () { form.hidden = true; });
      form.addEventListener("submit", function (e) { e.preventDefault(); });
      L.DomEvent.disableClickPropagation(form);
      map.getContainer().appendChild(form);
    }
    form.hidden = false;
  };

  var browser = BP.pages.browser;
  BP.pages.browser = function (map, config) {
    if (browser) { browser(map, config); }
    if (!tableLayers(config).length) { return; }
    BP.table = new Table(map, config);
    addButton(map, BP.table);
  };
})();
