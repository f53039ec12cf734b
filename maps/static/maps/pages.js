/* Page-specific parts: 项目定位 (locate), 合规性预检 (preview), check results, imagery comparison. */
(function () {
  "use strict";
  var BP = window.BP, U = BP.util, el = U.el, t = U.t, fmt = U.fmt;

  function message(node, text, kind) {
    node.textContent = text || "";
    node.className = "bp-message" + (kind ? " bp-message-" + kind : "");
    node.hidden = !text;
  }

  function problemText(body, status) {
    if (body && body.detail) {
      var text = body.detail;
      if (body.errors && typeof body.errors === "object" && !body.errors.detail) {
        text = Object.keys(body.errors).map(function (k) { return [].concat(body.errors[k]).join(" "); }).join("；");
      }
      return text;
    }
    return t("request_failed") + " (HTTP " + status + ")";
  }

  /* "中文。 (English.)" → the visitor's language (as maps/words.py in_language does on the server). */
  function inLanguage(text) {
    var found = /\s*\(([^()\u4e00-\u9fff]*)\)\s*$/.exec(text || "");
    if (!found || found.index === 0) { return text; }
    return BP.config.lang === "en" ? found[1].trim() : text.slice(0, found.index).replace(/\s+$/, "");
  }
  BP.inLanguage = inLanguage;

  function getJSON(url, options) {
    return fetch(url, options).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        if (!r.ok) { var err = new Error(problemText(body, r.status)); err.body = body; throw err; }
        return { status: r.status, body: body };
      });
    });
  }

  function districtText(districts) {
    if (!districts || !districts.length) { return t("no_district"); }
    return districts.map(function (d) { return d.name + "（" + d.code + "）"; }).join(" › ");
  }

  /* ---- 项目定位 ---- */
  BP.pages.locate = function (map, config) {
    var form = document.getElementById("bp-locate-form");
    var list = document.getElementById("bp-locate-results");
    var msg = document.getElementById("bp-locate-message");
    var zone = document.getElementById("bp-zone");
    var zoneTouched = false;
    zone.addEventListener("input", function () { zoneTouched = true; });
    function syncZone() { if (!zoneTouched) { zone.value = BP.gk.zoneOf(map.getCenter().lng); } }
    map.on("moveend", syncZone);
    syncZone();

    function select(result, item) {
      BP.highlights.clearLayers();
      if (result.geometry) { U.drawGeoJSON(BP.highlights, result.geometry, "bp-highlight", BP.styles.highlight); }
      U.fitTo(map, result.bbox, result.geometry);
      Array.prototype.forEach.call(list.querySelectorAll(".bp-result"), function (n) { n.classList.remove("bp-selected"); });
      item.classList.add("bp-selected");
      var where = document.getElementById("bp-result-districts");
      where.textContent = t("located_in") + districtText(result.districts);
      where.setAttribute("data-codes", (result.districts || []).map(function (d) { return d.code; }).join(","));
      BP.selected = result;
    }

    function show(results) {
      list.innerHTML = "";
      results.forEach(function (r, i) {
        var item = el("li", { "class": "bp-result", "data-kind": r.kind, "data-code": r.code || "" });
        item.appendChild(el("strong", {}, r.title));
        item.appendChild(el("span", { "class": "bp-kind" }, t("kind_" + r.kind)));
        if (r.code) { item.appendChild(el("span", { "class": "bp-mono" }, r.code)); }
        var note = config.lang === "en" ? r.note_en : r.note_zh;
        if (note) { item.appendChild(el("div", { "class": "bp-note" }, note)); }
        if (r.area) { item.appendChild(el("div", {}, t("area") + " " + BP.areaText(r.area.m2))); }
        (r.warnings || []).forEach(function (w) { item.appendChild(el("div", { "class": "bp-warning" }, w)); });
        if (r.url) { var a = el("a", { href: r.url, "class": "bp-project-link" }, t("project_page")); item.appendChild(a); }
        item.addEventListener("click", function (ev) { if (ev.target.tagName !== "A") { select(r, item); } });
        list.appendChild(item);
        if (i === 0) { select(r, item); }
      });
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      message(msg, t("searching"));
      var params = new URLSearchParams({ q: document.getElementById("bp-q").value });
      if (zone.value) { params.set("zone", zone.value); }
      getJSON("/maps/data/locate?" + params.toString(), { headers: { Accept: "application/json" } })
        .then(function (r) {
          message(msg, r.body.results.length ? "" : r.body.detail, r.body.results.length ? null : "error");
          if (!r.body.results.length) { list.innerHTML = ""; BP.highlights.clearLayers(); }
          show(r.body.results);
        })
        .catch(function (err) { list.innerHTML = ""; BP.highlights.clearLayers(); message(msg, err.message, "error"); });
    });
    if (config.query) { document.getElementById("bp-q").value = config.query; form.requestSubmit(); }
  };

  /* ---- findings of a check, in the side panel ---- */
  var AREA_KEYS = [["overlap", "share"], ["outside", "outside_share"], ["area_within", "share_within"],
    ["outside_coverage", null]];

  function findingArea(measures) {
    for (var i = 0; i < AREA_KEYS.length; i++) {
      var key = AREA_KEYS[i][0];
      if (measures && measures[key] && measures[key].m2 !== undefined) {
        var share = AREA_KEYS[i][1] ? measures[AREA_KEYS[i][1]] : null;
        return { label: t("measure_" + key), m2: measures[key].m2, share: share };
      }
    }
    return null;
  }

  function statusLabel(status) {
    var pair = BP.config.statusLabels[status] || [status, status];
    return BP.config.lang === "en" ? pair[1] : pair[0];
  }

  function renderCheck(box, check) {
    box.innerHTML = "";
    var head = el("div", { "class": "bp-verdict bp-status-" + check.verdict, id: "bp-verdict",
      "data-verdict": check.verdict });
    head.appendChild(el("span", { "class": "bp-verdict-label" }, t("verdict")));
    head.appendChild(el("strong", {}, statusLabel(check.verdict)));
    box.appendChild(head);
    box.appendChild(el("p", {}, t("site_area") + " " + BP.areaText(check.site_area.m2)));
    (check.warnings || []).forEach(function (w) { box.appendChild(el("p", { "class": "bp-warning" }, w)); });
    var links = el("p", { "class": "bp-links" });
    var pdf = el("a", { href: check.links.report_pdf, id: "bp-report-pdf", download: "check-" + check.id + ".pdf" },
      t("download_pdf"));
    links.appendChild(pdf);
    links.appendChild(el("a", { href: check.links.report_html, target: "_blank" }, t("report_html")));
    if (check.links.page) { links.appendChild(el("a", { href: check.links.page, id: "bp-check-page" }, t("check_page"))); }
    box.appendChild(links);
    var list = el("ol", { "class": "bp-findings" });
    check.findings.forEach(function (f) {
      var item = el("li", { "class": "bp-finding bp-status-" + f.status, "data-rule": f.rule_id,
        "data-layer": f.layer, "data-status": f.status });
      var title = el("div", { "class": "bp-finding-head" });
      title.appendChild(el("span", { "class": "bp-badge bp-status-" + f.status }, statusLabel(f.status)));
      title.appendChild(el("strong", {}, BP.config.lang === "en" && f.rule.title_en ? f.rule.title_en : f.title_zh));
      item.appendChild(title);
      item.appendChild(el("div", {}, BP.config.lang === "en" ? f.message_en : f.message_zh));
      var area = findingArea(f.measures);
      if (area && area.m2 > 0) {  // no "0.00 平方米" line for a rule the site met
        var line = el("div", { "class": "bp-finding-area", "data-m2": area.m2 },
          area.label + "：" + BP.areaText(area.m2) + (area.share !== null && area.share !== undefined ?
            "（" + t("share") + " " + fmt(area.share * 100, 2) + "%）" : ""));
        item.appendChild(line);
      }
      ruleNotes(item, f);
      list.appendChild(item);
    });
    box.appendChild(list);
    if (BP.renderNextSteps) { BP.renderNextSteps(box, check.next_steps); }
  }

  /* What the PDF says under each finding that did not pass: 处理建议, 法规依据, 主管科室. */
  function ruleNotes(item, f) {
    var rule = f.rule || {}, words = BP.config.words || {};
    if (f.status === "pass" || f.status === "info") { return; }
    var english = BP.config.lang === "en";
    var notes = el("dl", { "class": "bp-rule-notes" });
    [["guidance", english && rule.guidance_en ? rule.guidance_en : rule.guidance_zh],
      ["legal_basis", rule.legal_basis], ["department", rule.department]].forEach(function (pair) {
      if (!pair[1]) { return; }
      notes.appendChild(el("dt", { "data-note": pair[0] }, words[pair[0]] || pair[0]));
      notes.appendChild(el("dd", { "data-note": pair[0] }, pair[1]));
    });
    if (notes.childNodes.length) { item.appendChild(notes); }
  }

  BP.pages.check = function (map, config) {
    if (BP.drawContext) { BP.drawContext(map, config); }
    BP.drawCheck(map, BP.highlights, config.check);
    renderCheck(document.getElementById("bp-check-result"), config.check);
  };

  /* ---- 合规性预检 ---- */
  BP.pages.preview = function (map, config) {
    var form = document.getElementById("bp-preview-form");
    var msg = document.getElementById("bp-preview-message");
    var box = document.getElementById("bp-check-result");
    var fileInput = document.getElementById("bp-file");
    var drawn = null, handler = null;
    var drawnGroup = L.featureGroup().addTo(map);

    document.getElementById("bp-draw").addEventListener("click", function () {
      if (handler) { handler.disable(); }
      handler = new L.Draw.Polygon(map, { showArea: false, showLength: false, allowIntersection: false,
        shapeOptions: BP.styles.site });
      BP.mode = "site";
      handler.enable();
    });
    map.on("draw:created", function (e) {
      if (BP.mode !== "site") { return; }
      BP.mode = null;
      drawnGroup.clearLayers();
      drawnGroup.addLayer(e.layer);
      drawn = e.layer.toGeoJSON().geometry;
      fileInput.value = "";
      message(msg, t("drawn_ready"), "info");
    });
    var fileName = document.getElementById("bp-file-name"), words = config.words || {};
    var code = document.getElementById("bp-project-code"), repair = document.getElementById("bp-repair");
    fileInput.addEventListener("change", function () {
      drawn = null; drawnGroup.clearLayers(); message(msg, "");
      if (fileName) { fileName.textContent = fileInput.files.length ? fileInput.files[0].name : words.no_file; }
    });

    function body() {
      var category = document.getElementById("bp-category").value;
      var extra = {};
      if (code && code.value.trim()) { extra.project_code = code.value.trim(); }
      if (repair && repair.checked) { extra.repair = true; }
      if (drawn) {
        return { headers: { "Content-Type": "application/json" },
          body: JSON.stringify(Object.assign({ site: drawn, category: category }, extra)) };
      }
      if (!fileInput.files.length) { return null; }
      var data = new FormData();
      data.append("file", fileInput.files[0]);
      data.append("category", category);
      Object.keys(extra).forEach(function (k) { data.append(k, extra[k]); });
      ["zone", "crs"].forEach(function (name) {
        var value = document.getElementById("bp-" + name).value.trim();
        if (value) { data.append(name, value); }
      });
      return { headers: {}, body: data };
    }

    function waitForJob(url) {
      return new Promise(function (resolve, reject) {
        function poll() {
          getJSON(url).then(function (r) {
            if (r.body.state === "done" && r.body.links.check) { resolve(getJSON(r.body.links.check)); }
            else if (r.body.state === "failed") { reject(new Error(r.body.error || t("request_failed"))); }
            else { setTimeout(poll, 1000); }
          }, reject);
        }
        poll();
      });
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var request = body();
      if (!request) { message(msg, t("need_site"), "error"); return; }
      request.headers["X-CSRFToken"] = config.csrf;
      request.headers.Accept = "application/json";
      message(msg, t("checking"), "info");
      box.innerHTML = "";
      getJSON("/api/checks", { method: "POST", headers: request.headers, body: request.body,
        credentials: "same-origin" })
        .then(function (r) { return r.status === 202 ? waitForJob(r.body.links.self) : r; })
        .then(function (r) {
          var check = r.body;
          check.links.page = "/maps/checks/" + check.id;
          message(msg, "");
          drawnGroup.clearLayers();
          BP.drawCheck(map, BP.highlights, check);
          renderCheck(box, check);
          BP.lastCheck = check;
        })
        .catch(function (err) {
          message(msg, t("file_problem") + inLanguage(err.message), "error");
          if (repair && /repair=true/.test(err.message)) {  // the message suggests the repair: offer it
            document.getElementById("bp-repair-label").classList.add("bp-suggested");
            msg.appendChild(el("div", { id: "bp-repair-hint" }, words.repair_hint));
          }
        });
    });
  };

  /* ---- imagery by date, side by side ---- */
  BP.pages.compare = function (map, config) {
    // The form only holds choices: never submit it (no inline handler: the page's CSP forbids them).
    document.getElementById("bp-compare-form").addEventListener("submit", function (e) { e.preventDefault(); });
    var right = BP.compareRight = L.map("bp-compare-right", { zoomControl: false, attributionControl: false });
    right.setView(map.getCenter(), map.getZoom());
    var syncing = false;
    function follow(from, to) {
      from.on("move", function () {
        if (syncing) { return; }
        syncing = true;
        to.setView(from.getCenter(), from.getZoom(), { animate: false });
        syncing = false;
      });
    }
    follow(map, right);
    follow(right, map);
    var select = document.getElementById("bp-imagery");
    var left = { date: document.getElementById("bp-date-left"), layer: null, map: map };
    var rightSide = { date: document.getElementById("bp-date-right"), layer: null, map: right };
    function imagery() { return config.compare.filter(function (i) { return i.slug === select.value; })[0]; }
    function apply(side) {
      var img = imagery();
      if (side.layer) { side.map.removeLayer(side.layer); }
      var url = img.url + (side.date.value ? "?date=" + side.date.value : "");
      side.layer = L.tileLayer(url, { maxZoom: 19, className: "bp-imagery-" + (side === left ? "left" : "right") });
      side.layer.addTo(side.map);
      side.layer.bringToBack();
    }
    function loadScenes() {
      var img = imagery();
      getJSON(img.scenes).then(function (r) {
        var dates = r.body.map(function (s) { return s.acquired; }).filter(function (d, i, a) { return a.indexOf(d) === i; }).sort();
        [left, rightSide].forEach(function (side, i) {
          side.date.innerHTML = "";
          dates.forEach(function (d) { side.date.appendChild(el("option", { value: d }, d)); });
          side.date.value = dates.length ? dates[i === 0 ? 0 : dates.length - 1] : "";
          apply(side);
        });
        if (r.body.length && r.body[0].bbox) {
          var b = r.body[0].bbox;
          map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
        }
      }).catch(function (err) { message(document.getElementById("bp-compare-message"), err.message, "error"); });
    }
    select.addEventListener("change", loadScenes);
    left.date.addEventListener("change", function () { apply(left); });
    rightSide.date.addEventListener("change", function () { apply(rightSide); });
    loadScenes();
  };
})();
