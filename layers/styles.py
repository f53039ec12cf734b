"""How each layer is drawn and how its fields are named: the one registry of cartography.

The map pages (vector tiles on canvas, the legend, the popups), the server-drawn PNG map tiles
(layers/map_tiles.py) and the report's site map (compliance/mapsvg.py) all read a layer's style
and field labels from here, so 生态保护红线 is the same red everywhere. The built-in entries below
are the defaults of the seeded layers; a layer's own `style` and `field_labels` (JSON on the
layer, set in the admin, checked by `validate_style` / `validate_field_labels`) go over them, so
a control line added later is given its colours without a code change.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

__all__ = ["LAYER_STYLES", "DEFAULT_STYLE", "GROUPS", "HATCHES", "FIELD_LABELS", "layer_style",
           "field_labels", "format_value", "labelled_attributes", "validate_style", "validate_field_labels"]

# Legend groups, in the order the legend lists them: (key, Chinese, English).
GROUPS = [("base", "基础", "Base"), ("control", "三区三线", "Three zones, three lines"),
          ("project", "项目", "Projects"), ("imagery", "影像", "Imagery")]
# Fill patterns over the fill colour, drawn in `hatchColor` (else the stroke colour).
HATCHES = ("none", "diagonal", "cross", "horizontal", "vertical")

# Keys: `color`/`weight`/`opacity` stroke, `dashArray` ("6 3": dash and gap in pixels), `fillColor`/
# `fillOpacity` fill, `hatch`/`hatchColor` pattern; page keys `group`, `on` (shown when the page
# opens), `min_zoom` (hidden below it), `order` (drawing order), `raster_below` (below this zoom the
# page shows the layer's PNG map tiles instead of its vector tiles: a z12 farmland vector tile holds
# 3 000–4 000 patches, too many to decode and draw in one browser task while a person pans; see
# bench/README.md, "Map panning benchmark"), `label_field` (the field naming a feature).
LAYER_STYLES = {
    "admin_district": {"color": "#3d3d3d", "weight": 1.5, "fillOpacity": 0, "dashArray": "6 3",
                       "group": "base", "on": True, "min_zoom": 0, "order": 90,
                       "label_field": "XZQMC"},
    "water_body": {"color": "#2b83ba", "weight": 1, "fillColor": "#74add1", "fillOpacity": 0.5,
                   "group": "base", "on": True, "min_zoom": 0, "order": 40, "label_field": "MC"},
    "ecological_redline": {"color": "#d7191c", "weight": 1.5, "fillColor": "#d7191c",
                           "fillOpacity": 0.22, "hatch": "diagonal", "hatchColor": "#d7191c",
                           "group": "control", "on": True, "min_zoom": 0, "order": 60},
    "basic_farmland": {"color": "#b08c00", "weight": 0.8, "fillColor": "#f2d43d", "fillOpacity": 0.45,
                       "hatch": "diagonal", "hatchColor": "#b08c00", "group": "control", "on": True,
                       "min_zoom": 10, "raster_below": 13, "order": 50},
    "urban_development_boundary": {"color": "#7b3294", "weight": 2, "fillOpacity": 0,
                                   "dashArray": "8 4", "group": "control", "on": True, "min_zoom": 0,
                                   "order": 70},
    "urban_space": {"color": "#e66101", "weight": 0.5, "fillColor": "#fdb863", "fillOpacity": 0.25,
                    "group": "control", "on": False, "min_zoom": 0, "order": 10},
    "agricultural_space": {"color": "#a6a600", "weight": 0.5, "fillColor": "#e6e69a",
                           "fillOpacity": 0.25, "group": "control", "on": False, "min_zoom": 0,
                           "order": 11},
    "ecological_space": {"color": "#1a9641", "weight": 0.5, "fillColor": "#a6d96a", "fillOpacity": 0.25,
                         "group": "control", "on": False, "min_zoom": 0, "order": 12},
    "project_site": {"color": "#d01c8b", "weight": 2, "fillColor": "#f1b6da", "fillOpacity": 0.35,
                     "group": "project", "on": True, "min_zoom": 0, "order": 80,
                     "label_field": "XMMC"},
}
DEFAULT_STYLE = {"color": "#4d4d4d", "weight": 1.5, "opacity": 1.0, "fillColor": "#bababa",
                 "fillOpacity": 0.2, "dashArray": "", "hatch": "none", "hatchColor": "",
                 "group": "control", "on": False, "min_zoom": 0, "order": 30, "raster_below": None,
                 "label_field": ""}

# Attribute names of the 自然资源“一张图” database standard, as a reader knows them: (Chinese, English,
# unit). Units: "m2" (an area in square metres, shown with 亩), "" for none.
FIELD_LABELS = {
    "XZQDM": ("行政区代码", "District code", ""), "XZQMC": ("行政区名称", "District", ""),
    "SJXZQDM": ("上级行政区代码", "Parent district", ""), "JB": ("级别", "Level", ""),
    "BSM": ("标识码", "Identifier", ""), "YSDM": ("要素代码", "Feature code", ""),
    "XJXZQDM": ("县级行政区代码", "County code", ""), "XJXZQMC": ("县级行政区名称", "County", ""),
    "LHLX": ("红线类型", "Type", ""), "MJ": ("面积", "Area", "m2"), "TBBH": ("图斑编号", "Patch number", ""),
    "DLBM": ("地类编码", "Land class code", ""), "DLMC": ("地类名称", "Land class", ""),
    "ZLDWDM": ("坐落单位代码", "Locality code", ""), "ZLDWMC": ("坐落单位名称", "Locality", ""),
    "YJJBNTTBMJ": ("基本农田图斑面积", "Patch area", "m2"), "GDPDJB": ("耕地坡度级别", "Slope grade", ""),
    "GHFQDM": ("规划分区代码", "Zoning code", ""), "GHFQMC": ("规划分区", "Zoning", ""),
    "XMDM": ("统一项目代码", "Project code", ""), "XMMC": ("项目名称", "Project", ""),
    "JSDW": ("建设单位", "Applicant", ""), "XMLX": ("项目类型", "Project type", ""),
    "JD": ("阶段", "Stage", ""),
    "GCLB": ("工程类别", "Category", ""), "KJLX": ("空间类型", "Zone type", ""), "MC": ("名称", "Name", ""),
    "LX": ("类型", "Type", ""), "LY": ("数据来源", "Source", ""),
    "revision": ("用地红线版本", "Site revision", ""),
}
# Values a reader should not see as codes.
VALUE_LABELS = {
    "LY": {"generated": ("模拟生成（演示数据）", "generated (demo data)"),
           "GSHHG": ("GSHHG 2.3.7", "GSHHG 2.3.7"), "WDBII": ("WDBII 河流", "WDBII rivers")},
}
SQUARE_METRES_PER_MU = 10000 / 15

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_DASH = re.compile(r"^(\d+(\.\d+)?)( \d+(\.\d+)?)*$")


def layer_style(slug: str, stored: dict | None = None) -> dict:
    """The style of a layer: its stored style over its built-in entry over the default.

    `stored` is the layer's own `style` (the admin's); a control line added later without one is
    drawn in the default grey until a style is set there."""
    return {**DEFAULT_STYLE, **LAYER_STYLES.get(slug, {}), **(stored or {})}


def field_labels(stored: dict | None = None, english: bool = False) -> dict[str, dict]:
    """Field name → {"label", "unit", "hidden", "values"} for one layer, built-ins under its own."""
    pick = 1 if english else 0
    out = {name: {"label": pair[pick], "unit": pair[2], "hidden": False,
                  "values": {k: v[pick] for k, v in VALUE_LABELS.get(name, {}).items()}}
           for name, pair in FIELD_LABELS.items()}
    for name, entry in (stored or {}).items():
        entry = {"zh": entry} if isinstance(entry, str) else entry
        base = out.get(name, {"label": name, "unit": "", "hidden": False, "values": {}})
        label = entry.get("en") if english else entry.get("zh")
        out[name] = {"label": label or entry.get("zh") or base["label"],
                     "unit": entry.get("unit", base["unit"]),
                     "hidden": bool(entry.get("hidden", base["hidden"])),
                     "values": {**base["values"], **entry.get("values", {})}}
    return out


def format_value(value, unit: str = "", values: dict | None = None, english: bool = False) -> str:
    """A value as a reader reads it: grouped digits, areas in m² and 亩, codes named."""
    if value is None or value == "":
        return "—"
    if values and str(value) in values:
        return values[str(value)]
    if isinstance(value, bool):
        return ("yes" if value else "no") if english else ("是" if value else "否")
    if isinstance(value, int | float):
        if unit == "m2":
            m2, mu = ("m²", "mu") if english else ("平方米", "亩")
            return f"{value:,.2f} {m2}（{value / SQUARE_METRES_PER_MU:,.2f} {mu}）"
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    return str(value)


def labelled_attributes(properties: dict, stored_labels: dict | None = None,
                        english: bool = False) -> list[tuple[str, str]]:
    """(label, formatted value) of a feature's attributes, hidden and internal (`_…`) ones left out."""
    labels = field_labels(stored_labels, english)
    rows = []
    for name, value in properties.items():
        entry = labels.get(name, {"label": name, "unit": "", "hidden": False, "values": {}})
        if name.startswith("_") or entry["hidden"]:
            continue
        rows.append((entry["label"], format_value(value, entry["unit"], entry["values"], english)))
    return rows


def _check_colour(errors: list, key: str, value) -> None:
    if value not in (None, "") and not (isinstance(value, str) and _COLOUR.match(value)):
        errors.append(f"{key} 应为 #rrggbb 颜色，例如 #d7191c，收到 {value!r}。")


def _check_number(errors: list, key: str, value, low: float, high: float, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if value is None and key == "raster_below":
        return
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        errors.append(f"{key} 应为 {low:g}–{high:g} 的{'整数' if integer else '数'}，收到 {value!r}。")


def _style_errors(style: dict) -> list[str]:
    errors = [f"未知的样式项 “{key}”，可用：{', '.join(sorted(DEFAULT_STYLE))}。"
              for key in style if key not in DEFAULT_STYLE]
    for key in ("color", "fillColor", "hatchColor"):
        if key in style:
            _check_colour(errors, key, style[key])
    for key, low, high in (("weight", 0, 20), ("opacity", 0, 1), ("fillOpacity", 0, 1)):
        if key in style:
            _check_number(errors, key, style[key], low, high)
    for key, high in (("min_zoom", 22), ("raster_below", 22), ("order", 999)):
        if key in style:
            _check_number(errors, key, style[key], 0, high, integer=True)
    dash = style.get("dashArray")
    if dash and not (isinstance(dash, str) and _DASH.match(dash)):
        errors.append(f"dashArray 应为以空格分隔的线段与间隔像素，例如 \"8 4\"，收到 {dash!r}。")
    choices = {"hatch": HATCHES, "group": tuple(g[0] for g in GROUPS)}
    errors += [f"{key} 应为 {'、'.join(allowed)} 之一，收到 {style[key]!r}。"
               for key, allowed in choices.items() if key in style and style[key] not in allowed]
    if "on" in style and not isinstance(style["on"], bool):
        errors.append("on 应为 true 或 false。")
    if "label_field" in style and not isinstance(style["label_field"], str):
        errors.append("label_field 应为字段名。")
    return errors


def validate_style(style) -> None:
    """Refuse a stored style that would not draw: unknown keys, bad colours, numbers out of range."""
    if not isinstance(style, dict):
        raise ValidationError("样式应为 JSON 对象，例如 {\"color\": \"#d7191c\", \"fillOpacity\": 0.3}。")
    errors = _style_errors(style)
    if errors:
        raise ValidationError(errors)


def validate_field_labels(labels) -> None:
    """Refuse field labels that are not {"FIELD": "中文名"} or {"FIELD": {"zh": …, "en": …, …}}."""
    if not isinstance(labels, dict):
        raise ValidationError("字段名称应为 JSON 对象，例如 {\"DLMC\": \"地类名称\"}。")
    allowed = {"zh", "en", "unit", "hidden", "values"}
    errors = []
    for name, entry in labels.items():
        if isinstance(entry, str):
            if not entry.strip():
                errors.append(f"字段 {name} 的名称为空。")
            continue
        if not isinstance(entry, dict) or not entry.get("zh"):
            errors.append(f"字段 {name} 应为中文名称，或含 \"zh\" 的对象，"
                          f"例如 {{\"zh\": \"地类名称\", \"en\": \"Land class\"}}。")
            continue
        unknown = set(entry) - allowed
        if unknown:
            errors.append(f"字段 {name} 有未知的项 {', '.join(sorted(unknown))}，"
                          f"可用：{', '.join(sorted(allowed))}。")
        if entry.get("unit", "") not in ("", "m2"):
            errors.append(f"字段 {name} 的 unit 应为 \"m2\" 或留空。")
        if "values" in entry and not (isinstance(entry["values"], dict)
                                      and all(isinstance(v, str) for v in entry["values"].values())):
            errors.append(f"字段 {name} 的 values 应为 {{\"代码\": \"名称\"}}。")
    if errors:
        raise ValidationError(errors)
