"""REST endpoints: thin adapters, one service call each, then a serializer."""

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import (
    CheckRequestSerializer,
    CheckSerializer,
    CheckSummarySerializer,
    GateSerializer,
    JobSerializer,
)
from compliance.models import Job
from compliance import services


def _user(request) -> str:
    return request.user.get_username() if request.user.is_authenticated else "anonymous"


class CheckListView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=CheckRequestSerializer, responses={201: CheckSerializer},
                   summary="提交合规性检查 Submit a compliance check")
    def post(self, request):
        """Check a site given as GeoJSON/WKT (`site`) or as an uploaded file (`file`)."""
        form = CheckRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        args = form.validated_data
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
            return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["links"]["self"]})
        body = CheckSerializer(result, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["links"]["self"]})


class JobDetailView(APIView):
    @extend_schema(responses=JobSerializer, summary="后台检查任务状态 Status of a background check")
    def get(self, request, job_id):
        return Response(JobSerializer(services.get_job(job_id), context={"request": request}).data)


class CheckDetailView(APIView):
    @extend_schema(responses=CheckSerializer, summary="读取检查结果 Read a stored check")
    def get(self, request, check_id):
        check = services.get_check(check_id)
        return Response(CheckSerializer(check, context={"request": request}).data)


class CheckRerunView(APIView):
    @extend_schema(request=None, responses={201: CheckSerializer},
                   summary="按当前数据重新检查 Re-run against the current data")
    def post(self, request, check_id):
        """Run the stored input again against the current versions; say which findings changed."""
        original = services.get_check(check_id)
        with transaction.atomic():
            rerun = services.rerun_check(original, created_by=_user(request))
        body = CheckSerializer(rerun, context={"request": request}).data
        body["changes"] = services.compare_checks(original, rerun)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["links"]["self"]})


class ProjectChecksView(APIView):
    @extend_schema(responses=CheckSummarySerializer(many=True),
                   summary="项目的检查历史 A project's checks, newest first")
    def get(self, request, code):
        project, checks = services.project_checks(code)
        current = project.current_site
        latest = checks.filter(site_revision=current).first() if current else None
        return Response({
            "project_code": project.code, "current_site_revision": current.number if current else None,
            "latest_check_for_current_site": str(latest.id) if latest else None,
            "checks": CheckSummarySerializer(checks, many=True).data})


class GateView(APIView):
    @extend_schema(parameters=[OpenApiParameter("stage", str, description="1–5")],
                   responses=GateSerializer, summary="受理闸口 May the project be accepted now?")
    def get(self, request, code):
        """Answer allowed / blocked / needs_review with reasons; every answer is logged."""
        decision = services.gate(code, request.query_params.get("stage", ""), caller=_user(request))
        return Response(GateSerializer(decision).data)


__all__ = ["CheckListView", "JobDetailView", "CheckDetailView", "CheckRerunView", "ProjectChecksView", "GateView"]
