"""Request and response shapes of the REST API (documented in /api/openapi.json)."""

import json

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from compliance.guidance import next_steps
from compliance.models import Check, Finding, GateDecision, Job
from compliance.parsers import FORMATS
from compliance.services import CATEGORIES, DECISIONS, STAGES, check_links
from layers.models import LayerVersion


class CheckRequestSerializer(serializers.Serializer):
    """A site to check: GeoJSON or WKT in `site`, or an uploaded `file`."""

    site = serializers.JSONField(required=False, help_text="GeoJSON geometry/Feature/FeatureCollection, "
                                 "or a WKT/EWKT string")
    file = serializers.FileField(required=False, help_text="GeoJSON, WKT, 界址坐标 TXT, zipped Shapefile, "
                                 "KML or DXF")
    format = serializers.ChoiceField(required=False, choices=list(FORMATS))
    crs = serializers.CharField(required=False, help_text="e.g. EPSG:4490, EPSG:4527, CRS84, GCJ02, BD09")
    zone = serializers.IntegerField(required=False, min_value=25, max_value=45,
                                    help_text="3° Gauss–Krüger zone when the file does not say")
    dxf_layer = serializers.CharField(required=False)
    repair = serializers.BooleanField(required=False, default=False)
    project_code = serializers.CharField(required=False, help_text="统一项目代码: store the site as the "
                                         "project's new revision and check it")
    category = serializers.ChoiceField(required=False, choices=CATEGORIES)

    def validate_site(self, site):
        if site is not None and not isinstance(site, (dict, str)):
            raise serializers.ValidationError(
                "site 应为 GeoJSON 对象或 WKT / 界址坐标等文本。"
                " (site must be a GeoJSON object or WKT / 界址坐标 / KML / DXF text.)")
        return site

    def validate_file(self, upload):
        limit = settings.BLUEPRINT["SITE_MAX_BYTES"]
        if upload is not None and upload.size > limit:
            raise serializers.ValidationError(
                f"文件大小 {upload.size / 2**20:.1f} MiB 超过上限 {limit / 2**20:.0f} MiB：请只上传用地红线。"
                f" (The file is {upload.size / 2**20:.1f} MiB; the limit is {limit / 2**20:.0f} MiB.)")
        return upload

    def validate(self, attrs):
        if attrs.get("site") is None and attrs.get("file") is None and not attrs.get("project_code"):
            raise serializers.ValidationError(
                "请提供用地范围 site 或上传文件 file (或仅提供 project_code 检查已登记的用地)。"
                " (Give a site, a file, or a project_code.)")
        if attrs.get("site") is not None and attrs.get("file") is not None:
            raise serializers.ValidationError("site 与 file 只能二选一。 (Give either site or file.)")
        return attrs


class FindingSerializer(serializers.ModelSerializer):
    title_zh = serializers.SerializerMethodField()
    conflict = serializers.SerializerMethodField()
    layer_version = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = ["rule_id", "title_zh", "kind", "layer", "layer_version", "status", "severity",
                  "message_zh", "message_en", "measures", "features", "conflict", "rule"]

    def get_title_zh(self, obj) -> str:
        return obj.rule.get("title_zh", obj.rule_id)

    def get_conflict(self, obj) -> dict | None:
        return json.loads(obj.conflict_geom.geojson) if obj.conflict_geom else None

    def get_layer_version(self, obj) -> int | None:
        return obj.layer_version.number if obj.layer_version else None


class CheckSerializer(serializers.ModelSerializer):
    project_code = serializers.CharField(source="project.code", default=None)
    site_revision = serializers.IntegerField(source="site_revision.number", default=None)
    site = serializers.SerializerMethodField()
    site_area = serializers.SerializerMethodField()
    layer_versions = serializers.SerializerMethodField()
    findings = FindingSerializer(many=True, read_only=True, source="findings_with_versions")
    links = serializers.SerializerMethodField()
    next_steps = serializers.SerializerMethodField()

    class Meta:
        model = Check
        fields = ["id", "verdict", "project_code", "site_revision", "category", "input_format",
                  "source_crs", "site_area", "repair", "warnings", "ruleset_hash", "layer_versions",
                  "result_hash", "duration_ms", "rerun_of", "created_at", "findings", "next_steps", "site",
                  "links"]

    def get_next_steps(self, obj) -> dict:
        """What to do next for this verdict (compliance.guidance), as the check page says it."""
        return next_steps(obj)

    def get_site(self, obj) -> dict:
        return json.loads(obj.geom.geojson)

    def get_site_area(self, obj) -> dict:
        from layers.crs import area_units

        return area_units(obj.site_area_m2)

    def get_layer_versions(self, obj) -> dict[str, int]:
        """Each layer's version number, as findings[].layer_version gives it (stored: the ids)."""
        numbers = dict(LayerVersion.objects.filter(id__in=obj.layer_versions.values())
                       .values_list("id", "number"))
        return {slug: numbers.get(version_id) for slug, version_id in obj.layer_versions.items()}

    def get_links(self, obj) -> dict[str, str]:
        return check_links(obj.id, _absolute(self.context))


def _absolute(context: dict):
    """Turn a path into a URL: the request's own (REST), or `site_url` (the OGC process)."""
    request = context.get("request")
    if request is not None:
        return request.build_absolute_uri
    site_url = context.get("site_url", "")
    return lambda path: f"{site_url}{path}"


class CheckSummarySerializer(serializers.ModelSerializer):
    site_revision = serializers.IntegerField(source="site_revision.number", default=None)

    class Meta:
        model = Check
        fields = ["id", "verdict", "site_revision", "category", "result_hash", "created_at", "rerun_of"]


class ProjectChecksSerializer(serializers.Serializer):
    """A project's checks, newest first, and which of them describes its current site."""

    project_code = serializers.CharField()
    current_site_revision = serializers.IntegerField(allow_null=True)
    latest_check_for_current_site = serializers.UUIDField(allow_null=True)
    checks = CheckSummarySerializer(many=True)


class GateSerializer(serializers.ModelSerializer):
    stage = serializers.ChoiceField(choices=STAGES)
    decision = serializers.ChoiceField(choices=DECISIONS)
    check_id = serializers.UUIDField(source="check_result_id", allow_null=True)

    class Meta:
        model = GateDecision
        fields = ["project_code", "stage", "decision", "reasons", "check_id", "stale", "created_at"]


class JobSerializer(serializers.ModelSerializer):
    check_id = serializers.UUIDField(source="check_result_id", allow_null=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "state", "check_id", "error", "created_at", "started_at", "finished_at", "links"]

    def get_links(self, obj) -> dict[str, str]:
        absolute = _absolute(self.context)
        links = {"self": absolute(reverse("api:job", args=[str(obj.id)]))}
        if obj.check_result_id:
            links["check"] = check_links(obj.check_result_id, absolute)["self"]
        return links
