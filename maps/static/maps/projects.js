/* The project workspace: the lines a site is judged against around it, a project's page (check its
 * current site), and the check page's next steps. Loaded after maps.js and pages.js. */
(function () {
  "use strict";
  var BP = window.BP, U = BP.util, el = U.el;
  var CONTEXT_PANE = "bpContext";  // above the vector tiles (350), below sites and conflicts (400)

  function w(key) { return (BP.config.words || {})[key] || key; }

  /* The features of the layers the visitor may not browse, around their own site (config.context,
   * clipped by the server), drawn in each layer's style and listed in the legend. */
  BP.drawContext = function (map, config) {
    var defs = config.surroundings || [];
    if (!defs.length) { return; }
    if (!map.getPane(CONTEXT_PANE)) { map.createPane(CONTEXT_PANE).style.zIndex = 380; }
    BP.context = {};
    defs.forEach(function (def) {
      var s = def.style, cls = "bp-context bp-context-" + def.slug;
      // A polygon's fill is clipped to the surroundings; its stroke is the feature's own boundary
      // (feature.outline), so the clipping box never looks like a line of the layer.
      var group = L.geoJSON(def.features, {
        pane: CONTEXT_PANE,
        style: function (feature) {
          return { stroke: !feature.outline, color: s.color, weight: s.weight, fillColor: s.fillColor || s.color,
            fillOpacity: s.fillOpacity, dashArray: s.dashArray || null, className: cls };
        },
        onEachFeature: function (feature, layer) {
          layer.bindPopup(function () { return U.featurePopup([U.featureSection(def, feature)]); });
        }
      });
      def.features.features.forEach(function (feature) {
        if (!feature.outline) { return; }
        group.addLayer(L.geoJSON(feature.outline, { pane: CONTEXT_PANE, interactive: false, style: function () {
          return { color: s.color, weight: s.weight, dashArray: s.dashArray || null, className: cls + " bp-context-outline" };
        } }));
      });
      group.addTo(map);
      BP.context[def.slug] = group;
      var label = Object.assign({}, def, { title: def.title + w("around_site").replace("{m}", config.context_m) });
      if (BP.legend && def.features.features.length) { BP.legend.addOverlay(group, U.legendLabel(label)); }
    });
  };

  function message(node, text, kind) {
    node.textContent = text || "";
    node.className = "bp-message" + (kind ? " bp-message-" + kind : "");
    node.hidden = !text;
  }

  function send(url, options) {
    return fetch(url, options).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        if (!r.ok) { throw new Error((body && body.detail) || ("HTTP " + r.status)); }
        return { status: r.status, body: body };
      });
    });
  }

  function whenDone(answer) {  // a huge site is checked in the background: wait for its job
    if (answer.status !== 202) { return Promise.resolve(answer.body); }
    return new Promise(function (resolve, reject) {
      (function poll() {
        send(answer.body.links.self, { credentials: "same-origin" }).then(function (r) {
          if (r.body.state === "done") { resolve({ id: r.body.check_id }); }
          else if (r.body.state === "failed") { reject(new Error((r.body.error || {}).detail || "failed")); }
          else { setTimeout(poll, 1000); }
        }, reject);
      })();
    });
  }

  /* ---- a project: its site with what it is judged against; check its current site ---- */
  BP.pages.project = function (map, config) {
    BP.drawContext(map, config);
    var button = document.getElementById("bp-run-check");
    if (!button) { return; }
    var msg = document.getElementById("bp-run-message");
    button.addEventListener("click", function () {
      button.disabled = true;
      message(msg, w("checking"), "info");
      send("/api/checks", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": config.csrf },
        body: JSON.stringify({ project_code: config.project_code }) })
        .then(whenDone)
        .then(function (check) { window.location.assign("/maps/checks/" + check.id); })
        .catch(function (err) { button.disabled = false; message(msg, err.message, "error"); });
    });
  };

  /* ---- the project list: the listed projects' sites are the project layer's; nothing more ---- */
  BP.pages.projects = function () {};

  /* ---- a check's next steps (compliance/guidance.py), under its verdict ---- */
  BP.renderNextSteps = function (box, steps) {
    if (!steps || !box) { return; }
    var section = el("section", { "class": "bp-next-steps", id: "bp-next-steps", "data-verdict": steps.verdict });
    section.appendChild(el("h2", {}, w("next_steps")));
    section.appendChild(el("p", { "class": "bp-next-summary" },
      BP.config.lang === "en" ? steps.summary_en : steps.summary_zh));
    var list = el("ol");
    (steps.steps || []).forEach(function (step) {
      var item = el("li", { "class": "bp-next-step", "data-rule": step.rule_id, "data-status": step.status });
      item.appendChild(el("strong", {}, step.title_zh));
      item.appendChild(el("div", {}, step.text_zh));
      if (step.department) { item.appendChild(el("div", { "class": "bp-next-whom" }, w("whom") + "：" + step.department)); }
      list.appendChild(item);
    });
    if (list.childNodes.length) { section.appendChild(list); }
    var verdict = box.querySelector("#bp-verdict");
    box.insertBefore(section, verdict ? verdict.nextSibling : box.firstChild);
  };
})();
