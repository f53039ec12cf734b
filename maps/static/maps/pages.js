/* Page-specific parts: 项目定位 (locate), 合规性预检 (preview), check results, imagery comparison. */
(function () {
  "use strict";
  var BP = window.BP, U = BP.util, el = U.el, t = U.t, fmt = U.fmt;

  /* The service's messages are Chinese with the English in brackets, " (Nothing found for …)":
   * show the page's language only. */
  var ENGLISH_PART = /\s*\(([A-Za-z](?:[^()]|\([^()]*\))*)\)/g;  // " (English…)", nested brackets once
  function oneLanguage(text) {
    if (!text) { return text; }
    if (BP.config.lang === "en") {
      var parts = [], m;
      ENGLISH_PART.lastIndex = 0;
      while ((m = ENGLISH_PART.exec(text)) !== null) { parts.push(m[1].trim()); }
      return parts.length ? parts.join(" ") : text;
    }
    return text.replace(ENGLISH_PART, "").trim();
  }
  BP.oneLanguage = oneLanguage;

  function message(node, text, kind) {
    text = oneLanguage(text);
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
    // The zone of the user's district (Jining: 39) — not of the map centre, which a view across a
    // zone border puts in the wrong one; the map centre only for visitors without a jurisdiction.
    zone.value = config.home_zone || BP.gk.zoneOf(map.getCenter().lng);
    var where = document.getElementById("bp-result-districts");
    function clearResult() {
      list.innerHTML = "";
      BP.highlights.clearLayers();
      where.textContent = "";
      where.removeAttribute("data-codes");
      BP.selected = null;
    }

    function select(result, item) {
      BP.highlights.clearLayers();
      if (result.geometry) { U.drawGeoJSON(BP.highlights, result.geometry, "bp-highlight", BP.styles.highlight); }
      U.fitTo(map, result.bbox, result.geometry);
      Array.prototype.forEach.call(list.querySelectorAll(".bp-result"), function (n) { n.classList.remove("bp-selected"); });
      item.classList.add("bp-selected");
      where.textContent = t("located_in") + districtText(result.districts);
      where.setAttribute("data-codes", (result.districts || []).map(function (d) { return d.code; }).join(","));
      BP.selected = result;
    }

    function show(results) {
      list.innerHTML = "";
      results.forEach(function (r, i) {
        var item = el("li", { "class": "bp-result", "data-kind": r.kind, "data-code": r.code || "" });
        item.appendChild(el("strong", {}, config.lang === "en" && r.title_en ? r.title_en : r.title));
        item.appendChild(el("span", { "class": "bp-kind" }, t("kind_" + r.kind)));
        if (r.code) { item.appendChild(el("span", { "class": "bp-mono" }, r.code)); }
        var note = config.lang === "en" ? r.note_en : r.note_zh;
        if (note) { item.appendChild(el("div", { "class": "bp-note" }, note)); }
        if (r.area) { item.appendChild(el("div", {}, t("area") + " " + BP.areaText(r.area.m2))); }
        (r.warnings || []).forEach(function (w) { item.appendChild(el("div", { "class": "bp-warning" }, w)); });
        if (r.url) { var a = el("a", { href: r.url, "class": "bp-project-link" }, t("project_page")); item.appendChild(a); }
        if (r.kind === "site" && r.geometry) {
          // Take the located parcel straight to the compliance preview (it reads it from here).
          var check = el("button", { type: "button", "class": "bp-check-parcel", id: i === 0 ? "bp-check-parcel" : null },
            t("check_this_parcel"));
          check.addEventListener("click", function () {
            sessionStorage.setItem("bp-site", JSON.stringify(r.geometry));
            window.location.href = "/maps/preview?site=located";
          });
          item.appendChild(check);
        }
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
          clearResult();  // a "not found" leaves no earlier result on the map or in the list
          message(msg, r.body.results.length ? "" : r.body.detail, r.body.results.length ? null : "error");
          show(r.body.results);
          BP.openDrawer();
        })
        .catch(function (err) { clearResult(); message(msg, err.message, "error"); });
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
    var located = /[?&]site=located\b/.test(window.location.search) && sessionStorage.getItem("bp-site");
    if (located) {
      // A parcel located on 项目定位 (its TXT read there): checked as drawn, in CGCS2000.
      drawn = JSON.parse(located);
      sessionStorage.removeItem("bp-site");
      U.drawGeoJSON(drawnGroup, drawn, "bp-site", BP.styles.site);
      map.fitBounds(drawnGroup.getBounds(), { padding: [30, 30], maxZoom: 17 });
      message(msg, t("drawn_ready"), "info");
    }

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

  /* ---- imagery by date: side by side, or one map with a swipe (卷帘) ---- */
  BP.pages.compare = function (map, config) {
    // The form only holds choices: never submit it (no inline handler: the page's CSP forbids them).
    document.getElementById("bp-compare-form").addEventListener("submit", function (e) { e.preventDefault(); });
    var rightBox = document.getElementById("bp-compare-right");
    var right = BP.compareRight = L.map(rightBox, { zoomControl: false, attributionControl: false, maxZoom: 19 });
    right.setView(map.getCenter(), map.getZoom());
    var syncing = false;
    function follow(from, to) {
      from.on("move", function () {
        if (syncing || !to.getContainer().offsetWidth) { return; }
        syncing = true;
        to.setView(from.getCenter(), from.getZoom(), { animate: false });
        syncing = false;
      });
    }
    follow(map, right);
    follow(right, map);
    var select = document.getElementById("bp-imagery");
    var mode = document.getElementById("bp-compare-mode");
    var swipe = document.getElementById("bp-swipe");
    var left = { date: document.getElementById("bp-date-left"), meta: document.getElementById("bp-meta-left"), layer: null, name: "left" };
    var rightSide = { date: document.getElementById("bp-date-right"), meta: document.getElementById("bp-meta-right"), layer: null, name: "right" };
    var scenes = {};  // slug → scenes, newest first
    function imagery() { return config.compare.filter(function (i) { return i.slug === select.value; })[0]; }
    function swiping() { return mode.value === "swipe"; }
    function mapOf(side) { return side === left || swiping() ? map : right; }
    /* The swipe: the right date shows right of the handle, the left date left of it. */
    function clip() {
      [left, rightSide].forEach(function (side) {
        if (side.layer && side.layer.getContainer()) { side.layer.getContainer().style.clip = ""; }
      });
      if (!swiping() || !rightSide.layer || !rightSide.layer.getContainer()) { return; }
      var size = map.getSize(), nw = map.containerPointToLayerPoint([0, 0]), se = map.containerPointToLayerPoint(size);
      var x = nw.x + size.x * Number(swipe.value) / 100;
      left.layer.getContainer().style.clip = "rect(" + [nw.y, x, se.y, nw.x].join("px,") + "px)";
      rightSide.layer.getContainer().style.clip = "rect(" + [nw.y, se.x, se.y, x].join("px,") + "px)";
      document.getElementById("bp-swipe-line").style.left = swipe.value + "%";
    }
    map.on("move", clip);
    swipe.addEventListener("input", clip);
    function describe(side) {
      var list = (scenes[select.value] || []).filter(function (sc) { return sc.acquired === side.date.value; });
      side.meta.innerHTML = "";
      list.forEach(function (sc) {
        var parts = [sc.acquired, sc.sensor || "—", fmt(sc.resolution_m, 2) + " " + t("metres"),
          (sc.bands || []).join("/")];
        side.meta.appendChild(el("div", { "class": "bp-scene", "data-acquired": sc.acquired }, parts.join(" · ")));
      });
    }
    function apply(side) {
      var img = imagery();
      [map, right].forEach(function (m) { if (side.layer && m.hasLayer(side.layer)) { m.removeLayer(side.layer); } });
      var url = img.url + (side.date.value ? "?date=" + side.date.value : "");
      // Over the basemap (zIndex 10; the basemap is 0), never under it.
      side.layer = L.tileLayer(url, { maxZoom: 19, zIndex: side === left ? 10 : 11, className: "bp-imagery-" + side.name });
      side.layer.addTo(mapOf(side));
      side.layer.on("load", clip);
      describe(side);
      clip();
    }
    function setMode() {
      var one = swiping();
      rightBox.hidden = one;
      document.getElementById("bp-swipe-row").hidden = !one;
      document.getElementById("bp-swipe-line").hidden = !one;
      map.invalidateSize();
      if (!one) { right.invalidateSize(); right.setView(map.getCenter(), map.getZoom(), { animate: false }); }
      apply(rightSide);
    }
    mode.addEventListener("change", setMode);
    function dates(slug) {
      return (scenes[slug] || []).map(function (sc) { return sc.acquired; })
        .filter(function (d, i, a) { return a.indexOf(d) === i; }).sort();
    }
    function show() {
      var img = imagery(), list = dates(img.slug);
      [left, rightSide].forEach(function (side, i) {
        side.date.innerHTML = "";
        list.forEach(function (d) { side.date.appendChild(el("option", { value: d }, d)); });
        // Two different dates on arrival: the oldest on the left, the newest on the right.
        side.date.value = list.length ? list[i === 0 ? 0 : list.length - 1] : "";
        apply(side);
      });
      var msg = document.getElementById("bp-compare-message");
      message(msg, list.length < 2 ? t("one_date_only") : "", "info");
      var first = (scenes[img.slug] || [])[0];
      if (first && first.bbox) {
        var b = first.bbox;
        map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
      }
    }
    select.addEventListener("change", show);
    left.date.addEventListener("change", function () { apply(left); });
    rightSide.date.addEventListener("change", function () { apply(rightSide); });
    Promise.all(config.compare.map(function (img) {
      return getJSON(img.scenes).then(function (r) { scenes[img.slug] = r.body; });
    })).then(function () {
      // Open on the layer with the most dates (a one-date layer has nothing to compare).
      var best = config.compare.slice().sort(function (a, b) { return dates(b.slug).length - dates(a.slug).length; })[0];
      select.value = best.slug;
      show();
    }).catch(function (err) { message(document.getElementById("bp-compare-message"), err.message, "error"); });
  };
})();
