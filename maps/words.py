"""The words of the project workspace, attribute table, export and print: Chinese first, English
when the visitor switched to it. Pages get them as `w` (templates) and `config.words` (scripts)."""

from __future__ import annotations

import re

__all__ = ["words", "in_language"]

# "中文。 (English.)": the bilingual messages of the services, the English part in brackets at the end.
_ENGLISH_TAIL = re.compile(r"\s*\(([^()\u4e00-\u9fff]*)\)\s*$")

_WORDS = {
    # the project list
    "projects": ("项目", "Projects"), "mine": ("我的项目", "My projects"),
    "district_projects": ("辖区项目", "Projects in my districts"),
    "filter": ("筛选", "Filter"), "reset": ("清除筛选", "Clear filters"), "any": ("全部", "Any"),
    "district": ("行政区", "District"), "stage": ("审批阶段", "Stage"), "verdict": ("检查结论", "Verdict"),
    "since": ("登记日期从", "Registered from"), "until": ("至", "to"),
    "search": ("项目代码或名称", "Project code or name"),
    "code": ("统一项目代码", "Project code"), "name": ("项目名称", "Project"),
    "applicant": ("建设单位", "Applicant"),
    "registered": ("登记日期", "Registered"), "checked_at": ("检查时间", "Checked at"),
    "not_checked": ("未检查", "Not checked"), "total": ("共 {n} 个项目", "{n} projects"),
    "page": ("第 {n} / {of} 页", "Page {n} of {of}"), "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "none_found": ("没有符合条件的项目。", "No project meets these filters."),
    "organisation": ("所属单位", "Organisation"),
    "no_organisation": ("您的账号未登记所属单位，暂无可查看的项目；请联系管理员登记单位名称。",
                        "Your account has no organisation yet: ask the administrator to record it."),
    # a project
    "gate": ("受理闸口当前答复", "The acceptance gate now"), "gate_reasons": ("原因", "Reasons"),
    "gate_basis": ("依据的检查", "Based on the check"),
    "stale": ("检查结果已过时", "The check is out of date"),
    "run_check": ("检查当前用地红线", "Check the current site"),
    "rerun_check": ("按现行数据重新检查", "Check again against today's data"),
    "checking": ("正在检查……", "Checking…"), "latest_pdf": ("下载最新检查报告（PDF）", "Latest report (PDF)"),
    "no_site": ("尚未提交用地红线。", "No site yet."), "current": ("（当前）", "(current)"),
    "for_current": ("针对当前用地红线", "of the current site"),
    "around_site": ("（用地周边 {m} 米）", "(within {m} m of the site)"),
    "context_note": ("地图显示与本项目相关的管控图层在用地周边 {m} 米范围内的要素，以便调整用地范围。",
                     "The map shows the control lines within {m} m of the site: where to move it."),
    "open_check": ("查看", "Open"),
    # a check
    "next_steps": ("下一步", "What to do next"), "guidance": ("处理建议", "Guidance"),
    "legal_basis": ("法规依据", "Legal basis"), "department": ("主管科室", "Department"),
    "whom": ("联系", "Contact"),
    # the preview
    "choose_file": ("选择文件", "Choose a file"), "no_file": ("未选择文件", "No file chosen"),
    "project_code_optional": ("统一项目代码（可选，填写后作为该项目的用地红线检查）",
                              "Project code (optional: checks the site as that project's)"),
    "repair": ("自动修复几何问题（自相交、重复点等）", "Repair the geometry automatically"),
    "repair_hint": ("可勾选“自动修复几何问题”后重新检查。", "Tick “Repair the geometry” and run it again."),
    "earlier_checks": ("我的检查记录", "My earlier checks"), "pre_check": ("预审（未关联项目）", "Pre-check"),
    # the attribute table, export and print
    "attribute_table": ("属性表", "Attribute table"), "table_layer": ("图层", "Layer"),
    "table_scope": ("范围", "Extent"), "in_view": ("当前视图内", "In the view"),
    "in_area": ("绘制范围内", "In the drawn area"), "draw_area": ("绘制范围", "Draw an area"),
    "draw_first": ("请先在地图上绘制范围。", "Draw an area on the map first."),
    "export": ("导出", "Export"), "close": ("关闭", "Close"), "loading": ("正在加载……", "Loading…"),
    "table_total": ("共 {n} 个要素", "{n} features"), "fid": ("要素编号", "Feature id"),
    "area_m2": ("面积（平方米）", "Area (m²)"),
    "print": ("专题图", "Print map"), "print_pdf": ("生成 PDF", "Make the PDF"),
    "print_default_title": ("一张蓝图专题图", "One Blueprint map"),
}


def words(english: bool) -> dict[str, str]:
    """The workspace's words in the visitor's language."""
    pick = 1 if english else 0
    return {key: pair[pick] for key, pair in _WORDS.items()}


def in_language(text: str, english: bool) -> str:
    """One language of a bilingual message "中文 (English)": the Chinese part, or the English one
    when the visitor switched to English; a message without both is returned as it is."""
    found = _ENGLISH_TAIL.search(text)
    if not found or found.start() == 0:
        return text
    return found.group(1).strip() if english else text[:found.start()].rstrip()
