"""What to do next after a check (下一步怎么办): per verdict, in the words of the rules that decided it.

Read from the stored check only (the rules as applied are stored with each finding), so the
check page, the preview and the REST answer say the same as the report's findings:
- fail: what to move (the area and the patches hit) and which exception would apply;
- needs_review: who reviews (the rule's 主管科室) and what to bring;
- not_covered: whom to ask (the department keeping the data);
- warn: what to attend to; pass: go on to 受理.
"""

from __future__ import annotations

from django.utils import translation

from compliance.models import Check, Status
from layers.models import Project

__all__ = ["next_steps", "DATA_DEPARTMENT"]

# Who keeps the layers (the data manager); asked when a site is not covered by the data.
DATA_DEPARTMENT = "自然资源和规划局 信息中心（一张蓝图数据管理）"
_AREA_KEYS = ("overlap", "outside", "area_within", "outside_coverage")
# What a reviewer needs, whatever the rule: the site as drawn, and who drew it.
_ALWAYS_BRING = "用地红线原始文件（界址坐标 TXT 或 CAD）及测绘单位出具的勘测定界成果"


def next_steps(check: Check) -> dict:
    """Return {"verdict", "summary_zh", "summary_en", "steps": [{"rule_id", "title_zh", "text_zh",
    "department"}]} for a stored check."""
    findings = list(check.findings.select_related("layer_version__layer").order_by("order"))
    verdict = check.verdict
    with translation.override("zh-hans"):  # the category names in the sentences
        steps = [_step(f, check.category) for f in findings if f.status not in (Status.PASS, Status.INFO)]
    summary = _SUMMARIES.get(verdict, _SUMMARIES[Status.ERROR])
    return {"verdict": verdict, "summary_zh": summary[0], "summary_en": summary[1],
            "steps": [s for s in steps if s]}


_SUMMARIES = {
    Status.PASS: ("未发现冲突，可按程序申请受理。", "No conflict found: apply for acceptance (受理)."),
    Status.INFO: ("未发现冲突，可按程序申请受理。", "No conflict found: apply for acceptance (受理)."),
    Status.WARN: ("可申请受理，但须处理以下提示事项并附相关材料。",
                  "Acceptance is possible; attend to the warnings below and attach what they ask for."),
    Status.NEEDS_REVIEW: ("需人工复核：请携带下列材料联系主管科室复核。",
                          "Needs review: bring the documents below to the department named."),
    Status.NOT_COVERED: ("部分用地不在管控数据覆盖范围内，无法判定，请联系数据管理部门确认。",
                         "Part of the site is outside the data's coverage: ask the data manager."),
    Status.ERROR: ("部分检查未能执行，结论未知，请稍后重新检查或联系系统管理员。",
                   "A rule could not run: re-run the check later or contact the administrator."),
    Status.FAIL: ("不通过：请按下列要求调整用地范围，或确认是否适用例外情形后重新检查。",
                  "Fail: move the site as below, or show that an exception applies, then re-check."),
}


def _step(finding, category: str) -> dict | None:
    rule, status = finding.rule, finding.status
    title = rule.get("title_zh", finding.rule_id)
    department = rule.get("department", "")
    if status == Status.FAIL:
        text = _fail_text(finding, category)
    elif status == Status.NEEDS_REVIEW:
        text = _review_text(finding)
    elif status == Status.NOT_COVERED:
        department = DATA_DEPARTMENT
        text = (f"该范围内尚无{_layer_title(finding)}数据，请联系{DATA_DEPARTMENT}确认数据覆盖情况，"
                "数据补齐后重新检查。")
    elif status == Status.ERROR:
        text = "本项检查未能执行，请稍后重新检查；仍失败时请联系系统管理员。"
    else:  # warn
        text = rule.get("guidance_zh", "")
    return {"rule_id": finding.rule_id, "title_zh": title, "status": status, "text_zh": text,
            "department": department}


def _layer_title(finding) -> str:
    version = finding.layer_version
    return version.layer.title_zh if version else finding.layer


def _area(finding) -> float:
    for key in _AREA_KEYS:
        if key in finding.measures:
            return finding.measures[key]["m2"]
    return 0.0


def _patches(finding) -> str:
    ids = [str(f.get("fid")) for f in finding.features[:5] if f.get("fid") is not None]
    more = "等" if len(finding.features) > 5 else ""
    return f"（涉及要素 {'、'.join(ids)}{more}）" if ids else ""


def _fail_text(finding, category: str) -> str:
    rule = finding.rule
    area = _area(finding)
    mu = area / (10_000 / 15)
    verb = "移入" if finding.kind == "must_be_within" else "移出"
    where = _layer_title(finding)
    text = f"需将 {area:,.2f} 平方米（{mu:,.2f} 亩）用地{verb}{where}{_patches(finding)}。"
    exceptions = [e for e in rule.get("exceptions", []) if category not in e["categories"]]
    if exceptions:
        names = "、".join(str(Project.Category(c).label) for e in exceptions for c in e["categories"]
                         if c in Project.Category.values)
        notes = "；".join(e.get("note_zh", "") for e in exceptions if e.get("note_zh"))
        text += f"如属{names}，可适用例外：{notes}请在提交时选择相应工程类别并附批准文件后重新检查。"
    return text + (rule.get("guidance_zh", "") and f"（{rule['guidance_zh']}）")


def _review_text(finding) -> str:
    rule = finding.rule
    department = rule.get("department") or "主管科室"
    exception = finding.measures.get("exception") or {}
    bring = [_ALWAYS_BRING]
    if exception.get("note_zh"):
        bring.insert(0, exception["note_zh"].rstrip("。") + "所需的批准或论证文件")
    elif _area(finding) > 0:
        bring.append("重叠部分为边界误差的说明")
    return f"由{department}人工复核；请携带：{'；'.join(bring)}。"
