"""The sharing section of the statistics (数据共享): rows sent to the province per county.

Registered with compliance's dashboard from ExchangeConfig.ready(): compliance does not import
exchange. Lag is measured from the business event (the outbox row's creation, in its transaction)
to the upload into the front database (the 5-minute requirement, Xiangyang art. 8) and to the
province's feedback.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, DurationField, F, Q, Value
from django.db.models.functions import Extract, Left

from compliance.statistics import Column, Scope, Table, drill
from compliance.statistics.querysets import Percentile, in_period
from compliance.statistics.tables import COUNTY_COLUMNS
from exchange.models import OutboxRow, State

__all__ = ["sharing_tables", "WITHIN_SECONDS"]

WITHIN_SECONDS = 300  # 实时共享: at most five minutes


def _minutes(later: str):
    return Extract(F(later) - F("created_at"), "epoch") / 60.0


def sharing_tables(scope: Scope) -> list[Table]:
    """Per county: rows written, to send, failed locally, sent, accepted, rejected, and the lags."""
    rows = in_period(
        OutboxRow.objects.annotate(county=Left("district_id", 6)).filter(county__in=scope.codes), scope
    )
    grouped = {
        r["county"]: r
        for r in rows.values("county").annotate(
            rows=Count("pk"),
            pending=Count("pk", filter=Q(state=State.PENDING)),
            local_failed=Count("pk", filter=Q(state=State.LOCAL_FAILED)),
            sent=Count("pk", filter=Q(sent_at__isnull=False)),
            accepted=Count("pk", filter=Q(state=State.ACCEPTED)),
            rejected=Count("pk", filter=Q(state=State.REJECTED)),
            within=Count("pk", filter=Q(sent_at__lte=F("created_at") + _five_minutes())),
            median_upload=Percentile(_minutes("sent_at"), 0.5),
            median_feedback=Percentile(_minutes("feedback_at"), 0.5),
        )
    }
    out = []
    for code, name in scope.counties.items():
        r = grouped.get(code, {})
        sent, answered = r.get("sent", 0), r.get("accepted", 0) + r.get("rejected", 0)
        out.append(
            {
                "county": code,
                "county_name": name,
                "rows": r.get("rows", 0),
                "pending": r.get("pending", 0),
                "local_failed": r.get("local_failed", 0),
                "sent": sent,
                "accepted": r.get("accepted", 0),
                "rejected": r.get("rejected", 0),
                "accepted_share": round(r["accepted"] / answered, 4) if answered else None,
                "within_5min_share": round(r["within"] / sent, 4) if sent else None,
                "median_upload_minutes": _round(r.get("median_upload")),
                "median_feedback_minutes": _round(r.get("median_feedback")),
                "_drill": {
                    "*": drill("sharing", county=code),
                    "rejected": drill("sharing", county=code, state="rejected"),
                    "pending": drill("sharing", county=code, state="pending"),
                    "local_failed": drill("sharing", county=code, state="local_failed"),
                    "accepted": drill("sharing", county=code, state="accepted"),
                },
            }
        )
    return [
        Table(
            "sharing",
            "与省级系统数据共享（按区县）",
            [
                *COUNTY_COLUMNS,
                Column("rows", "共享记录"),
                Column("pending", "待上传"),
                Column("local_failed", "本地校验失败"),
                Column("sent", "已上传"),
                Column("accepted", "省级已接收"),
                Column("rejected", "省级校验失败"),
                Column("accepted_share", "接收占比", "share"),
                Column("within_5min_share", "5 分钟内上传占比", "share"),
                Column("median_upload_minutes", "上传中位时延（分钟）", "minutes"),
                Column("median_feedback_minutes", "回执中位时延（分钟）", "minutes"),
            ],
            out,
            note="时延自业务发生（共享记录写入）起算；接收占比 = 省级已接收 /（已接收 + 校验失败）。",
        )
    ]


def _five_minutes():
    return Value(timedelta(seconds=WITHIN_SECONDS), output_field=DurationField())


def _round(value):
    return None if value is None else round(float(value), 2)
