"""The `site-compliance` OGC API process: the REST check (services.submit_check) behind pygeoapi."""

from __future__ import annotations

import json

from django.utils import translation
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from api.ogc.caller import current
from api.ogc.errors import process_error
from api.serializers import CATEGORIES, CheckRequestSerializer, CheckSerializer
from blueprint import access
from blueprint.errors import BlueprintError, InvalidInput, echo
from compliance import services
from compliance.models import Check, Job, Status
from compliance.parsers import FORMATS
from layers.models import Project

__all__ = ["PROCESS_ID", "MEDIA_TYPE", "SiteComplianceProcessor", "check_outputs", "result_json"]

PROCESS_ID = "site-compliance"
# Serialized here, not by pygeoapi: its to_json turns "<" into "&lt;" (rule conditions hold "<>").
MEDIA_TYPE = "application/json; charset=utf-8"
TEXT_FORMATS = [name for name in FORMATS if name != "shapefile"]  # a zipped Shapefile is not JSON text


def _input(zh: str, en: str, schema: dict, **extra) -> dict:
    return {"title": {"zh": zh, "en": en}, "schema": schema, "minOccurs": 0, "maxOccurs": 1, **extra}


PROCESS_METADATA = {
    "version": "1.0.0",
    "id": PROCESS_ID,
    "title": {"zh": "用地红线合规性检查", "en": "Site compliance check"},
    "description": {
        "zh": "检查项目用地红线是否符合“三区三线”等管控要求（生态保护红线、永久基本农田、城镇开发边界、"
              "水域），结果存档，可出具报告。与 REST 接口 POST /api/checks 为同一检查。",
        "en": "Check a project site against the control lines (ecological red line, permanent basic "
              "farmland, urban development boundary, water); the result is stored and has a report. "
              "The same check as REST POST /api/checks."},
    "keywords": ["合规性检查", "三区三线", "compliance", "site"],
    "jobControlOptions": ["sync-execute", "async-execute"],
    "outputTransmission": ["value"],
    "links": [{"type": "text/html", "rel": "about", "title": "REST API", "href": "/api/docs/",
               "hreflang": "zh-CN"}],
    "inputs": {
        "site": _input("用地红线", "Site boundary", {"oneOf": [
            {"type": "object", "contentMediaType": "application/geo+json"},
            {"type": "string", "description": "WKT/EWKT, 界址坐标 TXT, KML or ASCII DXF text"}]},
            description={"zh": "GeoJSON 几何、要素或要素集合，或 WKT、界址坐标 TXT、KML、DXF 文本；"
                               "不提供时须提供 project_code，检查项目已登记的用地。",
                         "en": "A GeoJSON geometry, Feature or FeatureCollection, or WKT, 界址坐标 TXT, "
                               "KML or DXF text; without it, project_code's registered site is checked."}),
        "format": _input("格式", "Format", {"type": "string", "enum": TEXT_FORMATS},
                         description={"zh": "不提供时自动识别", "en": "detected when omitted"}),
        "crs": _input("坐标系", "CRS", {"type": "string", "default": "EPSG:4490"},
                      description={"zh": "如 EPSG:4490、EPSG:4527、CRS84、GCJ02、BD09",
                                   "en": "e.g. EPSG:4490, EPSG:4527, CRS84, GCJ02, BD09"}),
        "zone": _input("3度带带号", "3° Gauss–Krüger zone",
                       {"type": "integer", "minimum": 25, "maximum": 45}),
        "dxf_layer": _input("DXF 图层", "DXF layer", {"type": "string"}),
        "repair": _input("修复无效几何", "Repair an invalid boundary", {"type": "boolean", "default": False}),
        "project_code": _input("统一项目代码", "Unified project code", {"type": "string"},
                               description={"zh": "提供时，用地红线存为该项目的新版本并检查",
                                            "en": "stored as the project's new site revision, then checked"}),
        "category": _input("工程类别", "Project category", {"type": "string", "enum": CATEGORIES},
                           description={"zh": "默认取项目的类别，否则为城镇建设",
                                        "en": "the project's category, else urban_construction"}),
    },
    "outputs": {
        "result": {
            "title": {"zh": "检查结果", "en": "Check result"},
            "description": {"zh": "与 REST GET /api/checks/{id} 相同的检查结果：结论、逐条规则的检查结果、"
                                  "用地红线，以及存档检查和报告（HTML、PDF）的链接",
                            "en": "The same document as REST GET /api/checks/{id}: verdict, findings per "
                                  "rule, the site, and links to the stored check and its report (HTML, PDF)"},
            "schema": {"type": "object", "contentMediaType": "application/json", "properties": {
                "id": {"type": "string", "format": "uuid"},
                "verdict": {"type": "string", "enum": [s.value for s in Status]},
                "findings": {"type": "array"},
                "site": {"type": "object", "contentMediaType": "application/geo+json"},
                "links": {"type": "object"}}},
        }
    },
    "example": {"inputs": {
        "site": {"type": "Polygon", "coordinates": [[[116.58, 35.40], [116.582, 35.40],
                                                    [116.582, 35.402], [116.58, 35.402], [116.58, 35.40]]]},
        "category": "urban_construction"}},
}


class SiteComplianceProcessor(BaseProcessor):
    """Run (or queue) a compliance check through the one service REST uses."""

    def __init__(self, processor_def: dict) -> None:
        super().__init__(processor_def, PROCESS_METADATA)
        self.site_url = processor_def.get("site_url", "")

    def submit(self, inputs: dict, *, background: bool) -> Check | Job:
        """Validate the inputs as REST does and check the site (or queue it when `background`)."""
        args = _validated(inputs)
        who = current()
        try:
            if args.get("project_code"):  # another's project answers as if it did not exist
                code = args["project_code"].strip()
                access.require_project(who, Project.objects.filter(code=code).first(), code)
            return services.submit_check(
                args.get("site"), format=args.get("format"), crs_name=args.get("crs"),
                zone=args.get("zone"), dxf_layer=args.get("dxf_layer"), repair=args.get("repair", False),
                project_code=args.get("project_code"), category=args.get("category"),
                background=background, created_by=who.name)
        except BlueprintError as exc:
            raise process_error(exc) from exc

    def execute(self, data: dict, outputs=None) -> tuple[str, str]:
        return MEDIA_TYPE, result_json(self.submit(data, background=False), self.site_url)

    def __repr__(self) -> str:
        return f"<SiteComplianceProcessor> {self.name}"


def check_outputs(check: Check, site_url: str) -> dict:
    """The process result of a stored check: the very document REST answers for it."""
    return CheckSerializer(check, context={"site_url": site_url}).data


def result_json(check: Check, site_url: str) -> str:
    return json.dumps(check_outputs(check, site_url), ensure_ascii=False, default=str)  # UUIDs (rerun_of)


def _validated(inputs) -> dict:
    if not isinstance(inputs, dict):
        raise _invalid("inputs 应为对象。 (The inputs must be a JSON object.)")
    unknown = sorted(set(inputs) - set(PROCESS_METADATA["inputs"]))
    if unknown:
        names = echo(", ".join(unknown))
        raise _invalid(f"未知的输入 {names}；可用输入见 /ogc/processes/{PROCESS_ID}。"
                       f" (Unknown inputs {names}: see the process description.)")
    values = {name: _unqualified(value) for name, value in inputs.items()}
    form = CheckRequestSerializer(data=values)
    if form.is_valid():
        return form.validated_data
    with translation.override("en"):
        english = CheckRequestSerializer(data=values)
        english.is_valid()
    chinese, english = _flatten(form.errors), _flatten(english.errors)
    if chinese == english:  # our own messages are bilingual already
        raise _invalid(f"输入无效 (invalid inputs)：{chinese}")
    raise _invalid(f"输入无效：{chinese} (Invalid inputs: {english})")


def _unqualified(value):
    """An OGC qualified value {"value": …, "mediaType": …} stands for its value."""
    if isinstance(value, dict) and "value" in value and "type" not in value:
        return value["value"]
    return value


def _flatten(errors: dict) -> str:
    parts = []
    for name, messages in errors.items():
        text = " ".join(str(m) for m in messages)
        parts.append(text if name == "non_field_errors" else f"{name}: {text}")
    return "; ".join(parts)


def _invalid(detail: str) -> ProcessorExecuteError:
    return process_error(InvalidInput(detail))
