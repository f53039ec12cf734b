"""REST endpoints: thin adapters, one service call each, then a serializer."""

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.bodies import StrictJSONParser
from api.serializers import (
    CheckRequestSerializer,
    CheckSerializer,
    GateSerializer,
    JobSerializer,
    ProjectChecksSerializer,
)
from blueprint import access, audit
from blueprint.errors import InvalidInput, NotFound
from compliance import reports, services
from compliance.models import Job
from layers.models import Project


def _user(request) -> str:
    return access.principal(request).name


def _visible_check(request, check_id):
    """The stored check, when the caller may see it (else 404, as if it did not exist)."""
    return access.require_check(request, services.get_check(check_id))


def _visible_project(request, code: str | None) -> None:
    if code:
        access.require_project(request, Project.objects.filter(code=code.strip()).first(), code)


class CheckListView(APIView):
    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]

    @extend_schema(request=CheckRequestSerializer, responses={201: CheckSerializer},
                   summary="提交合规性检查 Submit a compliance check")
    def post(self, request):
        """Check a site given as GeoJSON/WKT (`site`) or as an uploaded file (`file`)."""
        form = CheckRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        args = form.validated_data
        _visible_project(request, args.get("project_code"))
        upload = args.get("file")
        data = upload.read() if upload else args.get("site")
        wants_async = "respond-async" in request.headers.get("Prefer", "")
        result = services.submit_check(
            data, filename=upload.name if upload else None, format=args.get("format"),
            crs_name=args.get("crs"), zone=args.get("zone"), dxf_layer=args.get("dxf_layer"),
            repair=args.get("repair", False), project_code=args.get("project_code"),
            category=args.get("category"), background=True if wants_async else None,
            created_by=_user(request))
        if isinstance(result, Job):
            body = JobSerializer(result, context={"request": request}).data
            return Response(body, status=status.HTTP_202_ACCEPTED,
                            headers={"Location": body["links"]["self"]})
        body = CheckSerializer(result, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["links"]["self"]})


class JobDetailView(APIView):
    @extend_schema(responses=JobSerializer, summary="后台检查任务状态 Status of a background check")
    def get(self, request, job_id):
        job = access.require_job(request, services.get_job(job_id))
        return Response(JobSerializer(job, context={"request": request}).data)


class CheckDetailView(APIView):
    @extend_schema(responses=CheckSerializer, summary="读取检查结果 Read a stored check")
    def get(self, request, check_id):
        check = _visible_check(request, check_id)
        return Response(CheckSerializer(check, context={"request": request}).data)


class CheckRerunView(APIView):
    @extend_schema(request=None, responses={201: CheckSerializer},
                   summary="按当前数据重新检查 Re-run against the current data")
    def post(self, request, check_id):
        """Run the stored input again against the current versions; say which findings changed."""
        original = _visible_check(request, check_id)
        with transaction.atomic():
            rerun = services.rerun_check(original, created_by=_user(request))
        body = CheckSerializer(rerun, context={"request": request}).data
        body["changes"] = services.compare_checks(original, rerun)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["links"]["self"]})


class ProjectChecksView(APIView):
    @extend_schema(responses=ProjectChecksSerializer,
                   summary="项目的检查历史 A project's checks, newest first")
    def get(self, request, code):
        _visible_project(request, code)
        project, checks = services.project_checks(code)
        current = project.current_site
        latest = checks.filter(site_revision=current).first() if current else None
        return Response(ProjectChecksSerializer({
            "project_code": project.code, "current_site_revision": current.number if current else None,
            "latest_check_for_current_site": latest.id if latest else None, "checks": checks}).data)


class GateView(APIView):
    @extend_schema(parameters=[OpenApiParameter(
        "stage", str, required=True, enum=services.STAGES,
        description="审批阶段 (approval stage): " + "; ".join(f"{s} {s.label}" for s in Project.Stage))],
        responses=GateSerializer, summary="受理闸口 May the project be accepted now?")
    def get(self, request, code):
        """Answer allowed / blocked / needs_review with reasons; every answer is logged. A stage
        outside 1–5 is refused (400); no check of the current site yet is `blocked`."""
        _visible_project(request, code)
        decision = services.gate(code, request.query_params.get("stage", ""), caller=_user(request))
        return Response(GateSerializer(decision).data)




class _ErrorsAsJSON(BaseContentNegotiation):
    """Ignore Accept: report views answer HTML or PDF themselves; DRF renders only their errors."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CheckReportView(APIView):
    content_negotiation_class = _ErrorsAsJSON

    @extend_schema(responses={(200, "text/html"): OpenApiTypes.STR},
                   summary="检查报告（网页） The check report as an HTML page")
    def get(self, request, check_id):
        check = _visible_check(request, check_id)
        page = reports.render_report_html(check, request)
        audit.record("report.export", target=str(check.id), format="html")
        return HttpResponse(page, content_type="text/html; charset=utf-8")


class CheckReportPDFView(APIView):
    content_negotiation_class = _ErrorsAsJSON

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY},
                   operation_id="checks_report_pdf", summary="检查报告（PDF） The check report as PDF")
    def get(self, request, check_id):
        check = _visible_check(request, check_id)
        response = HttpResponse(reports.render_report_pdf(check, request), content_type="application/pdf")
        audit.record("report.export", target=str(check.id), format="pdf")
        response["Content-Disposition"] = f'inline; filename="check-{check.id}.pdf"'
        return response


class CheckVerifyView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("hash", str, required=True, description="报告上的结果哈希 (SHA-256)")],
        responses=inline_serializer("Verification", {"valid": serializers.BooleanField(),
                                                     "check_id": serializers.CharField()}),
        summary="核验报告 Verify a report's result hash against the stored check")
    def get(self, request, check_id):
        """Say whether the hash on a report is the stored check's; nothing more (not the right hash,
        not whether the check exists: both would help to forge a report)."""
        claimed = request.query_params.get("hash", "").strip()
        if not claimed:
            raise InvalidInput("请提供要核验的结果哈希，例如 ?hash=<报告上的 SHA-256>。"
                               " (Give the hash to verify: ?hash=<the report's SHA-256>.)", field="hash")
        try:
            check = services.get_check(check_id)
        except NotFound:
            check = None
        return Response({"valid": check is not None and reports.verify(check, claimed),
                         "check_id": str(check_id)})


__all__ = [
    "CheckListView",
    "JobDetailView",
    "CheckDetailView",
    "CheckRerunView",
    "ProjectChecksView",
    "GateView",
    "CheckReportView",
    "CheckReportPDFView",
    "CheckVerifyView",
]
