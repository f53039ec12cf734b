"""The page script's words, Chinese first and English when the visitor switched to it."""

from __future__ import annotations

from compliance.reports import STATUS_LABELS
from layers.styles import field_labels

__all__ = ["script_strings", "role_label", "access_label"]

_STRINGS = {
    "m2": ("平方米", "m²"), "mu": ("亩", "mu"), "hectare": ("公顷", "ha"), "metres": ("米", "m"),
    "area": ("面积", "Area"), "distance": ("距离", "Distance"), "legend": ("图层与图例", "Layers and legend"),
    "around_site_group": ("用地周边", "Around the site"),
    "plain_background": ("空白底图", "Plain background"),
    "zoom_in": ("（放大后显示）", "(zoom in to show)"),
    "truncated": ("（要素较多，仅显示部分，请放大）", "(partly shown: zoom in)"),
    "load_failed": ("（加载失败）", "(failed to load)"),
    "pointer_hint": ("移动鼠标查看坐标", "Move the pointer to read coordinates"),
    "gk_zone": ("3°带 {zone} 带", "3° zone {zone}"),
    "measure_distance": ("测距", "Distance"), "measure_area": ("测面", "Area"), "clear": ("清除", "Clear"),
    "draw_start": ("单击地图开始绘制", "Click the map to start"),
    "draw_cont": ("单击继续绘制", "Click to continue"),
    "draw_line_end": ("单击最后一点结束", "Click the last point to finish"),
    "draw_polygon_end": ("单击第一个点闭合", "Click the first point to close"),
    "draw_cross": ("边界不能自相交", "Edges must not cross"),
    "cancel": ("取消", "Cancel"), "finish": ("完成", "Finish"), "undo": ("撤销上一点", "Undo last point"),
    "searching": ("正在查询……", "Searching…"), "located_in": ("所在行政区：", "District: "),
    "no_district": ("不在已登记的行政区内", "outside the registered districts"),
    "kind_project": ("项目", "project"), "kind_district": ("行政区", "district"),
    "kind_point": ("坐标点", "point"), "kind_site": ("界址坐标", "boundary points"),
    "kind_place": ("地名", "place"),
    "project_page": ("项目详情", "Project page"),
    "request_failed": ("请求失败", "Request failed"),
    "verdict": ("检查结论", "Verdict"), "site_area": ("用地面积", "Site area"), "share": ("占比", "share"),
    "download_pdf": ("下载 PDF 报告", "Download the PDF report"),
    "report_html": ("查看报告", "Open the report"),
    "check_page": ("检查结果页", "Check result page"),
    "measure_overlap": ("占用面积", "Overlap"), "measure_outside": ("界外面积", "Outside"),
    "measure_area_within": ("缓冲区内面积", "Within the buffer"),
    "measure_outside_coverage": ("未覆盖面积", "Not covered"),
    "drawn_ready": ("已绘制用地范围，点击“开始检查”。", "Site drawn: press “Run the check”."),
    "need_site": ("请先上传用地红线文件或在地图上绘制用地范围。",
                  "Upload a site file or draw the site first."),
    "checking": ("正在检查……", "Checking…"),
    "file_problem": ("无法完成检查：", "The check could not run: "),
    "perimeter": ("周长", "Perimeter"), "kilometres": ("公里", "km"),
    "measure_line_hint": ("单击地图添加折点，单击最后一点（或按“完成”）结束，Esc 取消",
                          "Click to add points; click the last point (or “Finish”) to end; Esc cancels"),
    "measure_area_hint": ("单击地图添加顶点，单击第一个点（或按“完成”）闭合，Esc 取消",
                          "Click to add corners; click the first one (or “Finish”) to close; Esc cancels"),
    "running": ("当前", "So far"),
    "opacity": ("透明度", "Opacity"), "basemap": ("底图", "Basemap"),
    "offline_basemap": ("离线底图（行政区、水系、地形）", "Offline basemap (districts, water, terrain)"),
    "show_panel": ("显示面板", "Show panel"), "hide_panel": ("收起面板", "Hide panel"),
    "open_project": ("打开项目", "Open the project"),
    "check_this_parcel": ("检查此地块", "Check this parcel"),
    "not_found": ("未找到", "Not found"),
    "one_date_only": ("该影像只有一个时相，请选择另一影像图层对比。",
                      "This imagery has one date only: choose another layer."),
}

# How a role is named to a person (never its code).
ROLE_LABELS = {
    "system_admin": ("系统管理员", "System administrator"),
    "security_admin": ("安全管理员", "Security administrator"),
    "audit_admin": ("审计管理员", "Audit administrator"),
    "administrator": ("系统管理员", "System administrator"),
    "city_planner": ("市级规划人员", "City planner"), "county_planner": ("区县规划人员", "County planner"),
    "applicant": ("建设单位", "Applicant"), "system": ("外部系统", "External system"),
    "anonymous": ("访客", "Visitor"),
}
ACCESS_LABELS = {"public": ("公开", "Public"), "internal": ("内部", "Internal"),
                 "restricted": ("受限", "Restricted")}


def role_label(role: str, english: bool) -> str:
    return ROLE_LABELS.get(str(role), (str(role), str(role)))[1 if english else 0]


def access_label(level: str, english: bool) -> str:
    return ACCESS_LABELS.get(str(level), (str(level), str(level)))[1 if english else 0]


def script_strings(english: bool) -> dict:
    """Return the strings, field labels and status labels the page script shows."""
    pick = 1 if english else 0
    return {
        "i18n": {key: pair[pick] for key, pair in _STRINGS.items()},
        "fieldLabels": field_labels(None, english),
        "statusLabels": {str(status): list(pair) for status, pair in STATUS_LABELS.items()},
    }
