"""Statistics and supervision (统计分析): the figures of the dashboard, the province's JSON and the
monthly reports, computed in SQL within the access policy. Faces call these; nothing here renders."""

from compliance.statistics.dashboard import SECTIONS, Dashboard, dashboard, register_section
from compliance.statistics.scope import Filters, Scope, parse_filters, resolve_scope
from compliance.statistics.tables import Column, Table, drill

__all__ = [
    "Filters",
    "Scope",
    "parse_filters",
    "resolve_scope",
    "Dashboard",
    "dashboard",
    "SECTIONS",
    "register_section",
    "Column",
    "Table",
    "drill",
    "for_request",
]


def for_request(who, params) -> Dashboard:
    """The dashboard of `who` (a request or principal) for query parameters ?from=&to=&district=."""
    return dashboard(resolve_scope(who, parse_filters(params)))
