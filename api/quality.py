"""REST for data quality (质量校验报告) and counties' submissions (县级数据报送): thin adapters."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.bodies import StrictJSONParser
from blueprint import access, audit
from blueprint.errors import InvalidInput
from layers.quality import reports, submissions
from layers.quality.models import Submission

__all__ = [
    "QualityReportView",
    "QualityReportPDFView",
    "QualityRunView",
    "SubmissionListView",
    "SubmissionDetailView",
    "SubmissionAcceptView",
    "SubmissionReturnView",
    "OverdueView",
]

_COUNTY = OpenApiParameter("county", str, required=False, description="只看一个县（GB/T 2260 代码）")
_REPORT = inline_serializer(
    "QualityReport",
    {
        "layer": serializers.CharField(),
        "version": serializers.IntegerField(),
        "status": serializers.ChoiceField(["passed", "warnings", "blocked"]),
        "blocking_failures": serializers.IntegerField(),
        "rules": serializers.ListField(child=serializers.DictField()),
        "counties": serializers.DictField(),
        "failures_total": serializers.IntegerField(),
        "failures": serializers.ListField(child=serializers.DictField()),
    },
)


def _version(request, slug: str, number: int):
    """The version, when the caller may read its layer (else 404, as if it did not exist)."""
    version = reports.find_version(slug, number)
    if not access.can_read_layer(request, version.layer):
        raise access.not_found("layer", slug)
    return version


class QualityReportView(APIView):
    @extend_schema(
        parameters=[_COUNTY], responses=_REPORT, summary="版本的质量校验报告 A layer version's quality report"
    )
    def get(self, request, slug, number):
        """Counts by rule and county and the failing features with their reasons (the latest run)."""
        version = _version(request, slug, number)
        return Response(
            reports.version_report(
                version, county=reports.county_scope(request, request.query_params.get("county"))
            )
        )


class QualityReportPDFView(APIView):
    @extend_schema(
        parameters=[_COUNTY],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="质量校验报告（PDF） The quality report as PDF",
    )
    def get(self, request, slug, number):
        version = _version(request, slug, number)
        county = reports.county_scope(request, request.query_params.get("county"))
        response = HttpResponse(reports.render_pdf(version, county=county), content_type="application/pdf")
        audit.record("report.export", target=f"{slug} v{number} quality", format="pdf", county=county)
        response["Content-Disposition"] = f'inline; filename="quality-{slug}-v{number}.pdf"'
        return response


class QualityRunView(APIView):
    @extend_schema(request=None, responses={201: _REPORT}, summary="重新校验 Run the quality rules again")
    def post(self, request, slug, number):
        """Run the layer's current rules on the version (on demand) and answer the new report."""
        version = _version(request, slug, number)
        reports.run_on_demand(version, actor=access.as_principal(request).name)
        return Response(reports.version_report(version), status=status.HTTP_201_CREATED)


class SubmissionSerializer(serializers.ModelSerializer):
    layer = serializers.CharField(source="layer.slug")
    county_name = serializers.CharField(source="county.name")
    version = serializers.IntegerField(source="version.number")
    overdue = serializers.SerializerMethodField()
    quality = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "layer",
            "county",
            "county_name",
            "version",
            "file_name",
            "note",
            "submitted_by",
            "state",
            "reasons",
            "deadline",
            "decided_by",
            "decided_at",
            "created_at",
            "overdue",
            "quality",
        ]

    def get_overdue(self, obj) -> bool:
        return bool(
            obj.state == Submission.State.RETURNED and obj.deadline and obj.deadline < dt.date.today()
        )

    def get_quality(self, obj) -> dict:
        report = reports.version_report(obj.version, county=obj.county_id, limit=50)
        return {k: report[k] for k in ("status", "blocking_failures", "rules", "failures_total", "failures")}


class SubmissionCreateSerializer(serializers.Serializer):
    layer = serializers.SlugField()
    county = serializers.CharField(max_length=12)
    file = serializers.FileField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class SubmissionListView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=SubmissionSerializer(many=True), summary="报送队列 Submissions you may see")
    def get(self, request):
        rows = submissions.visible(request).order_by("-created_at")[:200]
        return Response(SubmissionSerializer(rows, many=True).data)

    @extend_schema(
        request={"multipart/form-data": SubmissionCreateSerializer},
        responses={201: SubmissionSerializer},
        summary="县级报送 Submit a county's part of a layer",
    )
    def post(self, request):
        """Upload the county's new data (GeoJSON, GeoPackage, zipped Shapefile …); it is validated at once."""
        form = SubmissionCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        args = form.validated_data
        layer = reports.layer_of(args["layer"])
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / Path(args["file"].name).name
            with target.open("wb") as out:
                for chunk in args["file"].chunks():
                    out.write(chunk)
            submission = submissions.submit(request, layer, args["county"], target, note=args["note"])
        return Response(SubmissionSerializer(submission).data, status=status.HTTP_201_CREATED)


class SubmissionDetailView(APIView):
    @extend_schema(responses=SubmissionSerializer, summary="报送详情与反馈 A submission and its feedback")
    def get(self, request, pk):
        return Response(SubmissionSerializer(submissions.get(request, pk)).data)


class SubmissionAcceptView(APIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        request=inline_serializer("Accept", {"override_reason": serializers.CharField(required=False)}),
        responses=SubmissionSerializer,
        summary="采纳报送 Accept a submission",
    )
    def post(self, request, pk):
        submission = submissions.get(request, pk)
        reason = str(request.data.get("override_reason") or "")
        return Response(
            SubmissionSerializer(submissions.accept(request, submission, override_reason=reason)).data
        )


class SubmissionReturnView(APIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        request=inline_serializer(
            "Return", {"reasons": serializers.CharField(), "deadline": serializers.DateField()}
        ),
        responses=SubmissionSerializer,
        summary="退回整改 Return a submission with a deadline",
    )
    def post(self, request, pk):
        submission = submissions.get(request, pk)
        try:
            deadline = dt.date.fromisoformat(str(request.data.get("deadline") or ""))
        except ValueError as exc:
            raise InvalidInput(
                "整改期限应为 YYYY-MM-DD 格式的日期。 (deadline: a date, YYYY-MM-DD.)", field="deadline"
            ) from exc
        returned = submissions.return_for_correction(
            request, submission, reasons=str(request.data.get("reasons") or ""), deadline=deadline
        )
        return Response(SubmissionSerializer(returned).data)


class OverdueView(APIView):
    @extend_schema(responses=SubmissionSerializer(many=True), summary="逾期未整改通报 Overdue corrections")
    def get(self, request):
        return Response(SubmissionSerializer(submissions.overdue(request), many=True).data)
