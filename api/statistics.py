"""REST for the province (统计分析): the dashboard's figures as JSON, and the kept monthly reports.

A token needs the `statistics` interface (a person the statistics permission); a token with
districts reads only theirs. Thin adapters over compliance.statistics.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance import statistics
from compliance.statistics import monthly

__all__ = ["StatisticsView", "MonthlyReportsView"]

FILTERS = [
    OpenApiParameter("from", str, description="起始日期（含）YYYY-MM-DD，北京时间 (first day, inclusive)"),
    OpenApiParameter("to", str, description="结束日期（含）YYYY-MM-DD (last day, inclusive)"),
    OpenApiParameter("district", str, description="行政区代码：区县（370811）或城市（370800，含其区县）"),
]
TABLE_KEYS = (
    "comparison 区县对比, projects_by_stage, projects_by_type, checks_by_month, checks_by_district, "
    "conflicts 冲突面积 (m², 亩, 公顷), gate 受理闸口, verdict_time 提交至结论用时, vintage 数据现势性, "
    "quality 数据质量, sharing 数据共享"
)


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField(help_text="中文列名")
    kind = serializers.ChoiceField(["text", "int", "number", "hours", "minutes", "share", "date"])


class TableSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=TABLE_KEYS)
    title = serializers.CharField()
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(), help_text="按 columns 的 key 取值；county 为空的行是合计"
    )
    note = serializers.CharField()
    empty = serializers.CharField(help_text="无数据时的说明，如 暂无质量报告")


class CountySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    city = serializers.CharField()


class StatisticsSerializer(serializers.Serializer):
    generated_at = serializers.CharField(help_text="北京时间")
    filters = serializers.DictField(child=serializers.CharField())
    counties = CountySerializer(many=True)
    tables = TableSerializer(many=True)


class MonthlyReportSerializer(serializers.Serializer):
    district = serializers.CharField(source="district_id")
    district_name = serializers.CharField(source="district.name")
    month = serializers.DateField(format="%Y-%m")
    created_at = serializers.DateTimeField()
    figures = serializers.ListField(child=serializers.DictField(), help_text="区县对比表的各行")


def _public(table: dict) -> dict:
    return {**table, "rows": [{k: v for k, v in r.items() if not k.startswith("_")} for r in table["rows"]]}


class StatisticsView(APIView):
    @extend_schema(
        parameters=FILTERS,
        responses=StatisticsSerializer,
        summary="统计分析 The dashboard's figures (for the province)",
    )
    def get(self, request):
        """Every figure of the dashboard as tables, for the caller's counties and the period."""
        body = statistics.for_request(request, request.query_params).as_dict()
        body["tables"] = [_public(t) for t in body["tables"]]
        return Response(body)


class MonthlyReportsView(APIView):
    @extend_schema(
        responses=MonthlyReportSerializer(many=True),
        summary="统计月报 The kept monthly reports and their compared figures",
    )
    def get(self, request):
        """The monthly reports of the caller's districts, newest first, with their figures."""
        statistics.resolve_scope(request, statistics.Filters())  # refuses callers without statistics
        return Response(MonthlyReportSerializer(monthly.readable_reports(request)[:240], many=True).data)
