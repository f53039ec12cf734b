"""The page script's words, Chinese first and English when the visitor switched to it."""

from __future__ import annotations

from compliance.reports import STATUS_LABELS

__all__ = ["script_strings", "FIELD_LABELS"]

_STRINGS = {
    "m2": ("平方米", "m²"), "mu": ("亩", "mu"), "hectare": ("公顷", "ha"), "metres": ("米", "m"),
    "area": ("面积", "Area"), "distance": ("距离", "Distance"), "legend": ("图层与图例", "Layers and legend"),
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
}

# Attribute names of the 自然资源“一张图” database standard, as a reader knows them.
FIELD_LABELS = {
    "XZQDM": ("行政区代码", "District code"), "XZQMC": ("行政区名称", "District"),
    "SJXZQDM": ("上级行政区代码", "Parent district"), "JB": ("级别", "Level"),
    "BSM": ("标识码", "Identifier"), "YSDM": ("要素代码", "Feature code"),
    "XJXZQDM": ("县级行政区代码", "County code"), "XJXZQMC": ("县级行政区名称", "County"),
    "LHLX": ("类型", "Type"), "MJ": ("面积", "Area"), "TBBH": ("图斑编号", "Patch number"),
    "DLBM": ("地类编码", "Land class code"), "DLMC": ("地类名称", "Land class"),
    "ZLDWDM": ("坐落单位代码", "Locality code"), "ZLDWMC": ("坐落单位名称", "Locality"),
    "YJJBNTTBMJ": ("基本农田图斑面积", "Patch area"), "GDPDJB": ("耕地坡度级别", "Slope grade"),
    "GHFQDM": ("规划分区代码", "Zoning code"), "GHFQMC": ("规划分区", "Zoning"),
    "XMDM": ("统一项目代码", "Project code"), "XMMC": ("项目名称", "Project"),
    "JSDW": ("建设单位", "Applicant"), "XMLX": ("项目类型", "Project type"), "JD": ("阶段", "Stage"),
    "GCLB": ("工程类别", "Category"), "KJLX": ("空间类型", "Zone type"), "MC": ("名称", "Name"),
}


def script_strings(english: bool) -> dict:
    """Return the strings, field labels and status labels the page script shows."""
    pick = 1 if english else 0
    return {
        "i18n": {key: pair[pick] for key, pair in _STRINGS.items()},
        "fieldLabels": {key: pair[pick] for key, pair in FIELD_LABELS.items()},
        "statusLabels": {str(status): list(pair) for status, pair in STATUS_LABELS.items()},
    }
