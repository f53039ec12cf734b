/* 统计分析: the dashboard's charts (Apache ECharts, vendored) drawn from the tables the page was
   rendered with (#bp-stats-data). Clicking a bar, a slice or a county opens the list behind it. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("bp-stats-data").textContent);
  const tables = data.tables;
  const VERDICT_COLOURS = {pass: "#1a7f37", info: "#54aeff", warn: "#d4a72c", needs_review: "#bf8700",
                           not_covered: "#8c959f", error: "#6e40c9", fail: "#cf222e"};
  const DECISION_COLOURS = {allowed: "#1a7f37", blocked: "#cf222e", needs_review: "#bf8700"};
  const state = {charts: {}, ready: false};
  window.BPStats = state;

  function go(url) { if (url) window.location.assign(url); }

  function chart(id) {
    const el = document.getElementById(id);
    const c = echarts.init(el, null, {renderer: "canvas"});
    state.charts[id] = c;
    return c;
  }

  function columns(table, prefix) {
    return table.columns.filter(col => col.key.startsWith(prefix));
  }

  function checksByMonth() {
    const t = tables.checks_by_month;
    const c = chart("bp-chart-checks");
    const cols = columns(t, "verdict_");
    c.setOption({
      tooltip: {trigger: "axis"}, legend: {type: "scroll", bottom: 0},
      grid: {left: 40, right: 10, top: 10, bottom: 50},
      xAxis: {type: "category", data: t.rows.map(r => r.month)}, yAxis: {type: "value", minInterval: 1},
      series: cols.map(col => ({
        name: col.title, type: "bar", stack: "all", itemStyle: {color: VERDICT_COLOURS[col.key.slice(8)]},
        data: t.rows.map(r => ({value: r[col.key], link: r._links[col.key]}))})),
    });
    c.on("click", p => go(p.data && p.data.link));
  }

  function pie(id, table, prefix, colours) {
    // The 合计 row (county "") holds the sums and the links to the whole scope's lists.
    const total = table.rows.find(r => r.county === "");
    const c = chart(id);
    const slices = columns(table, prefix).map(col => ({
      name: col.title, value: total[col.key], link: total._links[col.key],
      itemStyle: colours ? {color: colours[col.key.slice(prefix.length)]} : undefined,
    })).filter(s => s.value > 0);
    c.setOption({tooltip: {trigger: "item", formatter: "{b}: {c}（{d}%）"}, legend: {bottom: 0},
                 title: slices.length ? undefined : {text: "暂无数据", left: "center", top: "middle",
                                                      textStyle: {color: "#9a6700", fontSize: 14}},
                 series: [{type: "pie", radius: ["35%", "65%"], data: slices, label: {formatter: "{b}\n{c}"}}]});
    c.on("click", p => go(p.data && p.data.link));
  }

  function conflicts() {
    const t = tables.conflicts;
    const c = chart("bp-chart-conflicts");
    const layers = [...new Set(t.rows.map(r => r.layer_title))];
    const counties = [...new Set(t.rows.map(r => r.county_name))];
    c.setOption({
      tooltip: {trigger: "axis"}, legend: {type: "scroll", bottom: 0},
      grid: {left: 110, right: 20, top: 10, bottom: 50},
      yAxis: {type: "category", data: layers}, xAxis: {type: "value", name: "亩"},
      series: counties.map(name => ({
        name: name, type: "bar", stack: "mu",
        data: layers.map(layer => {
          const row = t.rows.find(r => r.layer_title === layer && r.county_name === name);
          return row ? {value: row.mu, link: row._links.mu} : 0;
        })})),
    });
    c.on("click", p => go(p.data && p.data.link));
  }

  function countyMap() {
    const t = tables.comparison;
    const select = document.getElementById("bp-map-metric");
    const metrics = data.metrics.map(key => t.columns.find(col => col.key === key)).filter(Boolean);
    metrics.forEach(col => select.add(new Option(col.title, col.key)));
    echarts.registerMap("bp-counties", data.counties);
    const c = chart("bp-chart-map");
    const draw = () => {
      const key = select.value;
      const values = t.rows.map(r => ({name: r.county, value: r[key] ?? 0, label: r.county_name,
                                       link: r._links[key] || r._links.checks}));
      const top = Math.max(1e-9, ...values.map(v => v.value));
      c.setOption({
        tooltip: {trigger: "item", formatter: p => `${p.data ? p.data.label : p.name}：${p.data ? p.data.value : "—"}`},
        visualMap: {min: 0, max: top, left: 10, bottom: 10, calculable: true,
                    inRange: {color: ["#eaf3fb", "#2d5f9a"]}},
        series: [{type: "map", map: "bp-counties", nameProperty: "code", roam: true, data: values,
                  label: {show: true, formatter: p => (p.data ? p.data.label : ""), fontSize: 10}}],
      }, true);
    };
    select.addEventListener("change", draw);
    draw();
    c.on("click", p => go(p.data && p.data.link));
  }

  function start() {
    countyMap();
    checksByMonth();
    pie("bp-chart-stages", tables.projects_by_stage, "stage_", null);
    pie("bp-chart-gate", tables.gate, "decision_", DECISION_COLOURS);
    conflicts();
    window.addEventListener("resize", () => Object.values(state.charts).forEach(c => c.resize()));
    state.ready = true;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
