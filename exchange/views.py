"""The sharing page (数据共享), re-sending a refused row, and the province's notification."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from blueprint import access
from blueprint.errors import Conflict
from exchange import delivery, services
from exchange.models import State, Table
from exchange.outbox import districts_with_rows
from layers.models import Layer


@require_GET
def sharing(request):
    """Every row sent or to send, its state in Chinese, filterable by layer, county and state."""
    filters = {name: request.GET.get(name, "") for name in ("layer", "county", "state")}
    rows = services.rows_for(request, **filters)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "exchange/sharing.html", {
        "page": page, "filters": filters, "labels": services.STATE_LABELS, "states": State,
        "tables": dict(Table.choices), "layers": Layer.objects.filter(outboxrow__isnull=False).distinct(),
        "counties": districts_with_rows(), "refused": (State.REJECTED, State.LOCAL_FAILED)})


@require_POST
def resend(request, pk: int):
    """Send a refused row again (after its data was corrected)."""
    row = get_object_or_404(services.rows_for(request), pk=pk)
    try:
        again = delivery.resend(row, actor=access.principal(request).name)
    except Conflict as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"已重新提交：{again.key}")
    return redirect("exchange:sharing")


@csrf_exempt  # called by the province's system with its token, not from a form
@require_POST
def notify(request):
    """The province wrote feedback: read it back now (a queued poll), answer 202."""
    from exchange.tasks import defer_poll

    defer_poll()
    return JsonResponse({"status": "accepted", "detail": "已安排读取省级回执 (feedback will be read now)"},
                        status=202)
