"""The shape every figure takes: a table of rows with typed columns, and where each cell drills to.

The page draws its charts from these tables, the Excel export writes one sheet per table, the PDF
prints them, and the REST face serves them as JSON: one shape, four faces.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["Column", "Table", "drill", "COUNTY_COLUMNS"]

# Column kinds: text, int, area (亩/公顷/m² numbers), hours, minutes, share (0–1), date.
KINDS = frozenset({"text", "int", "number", "hours", "minutes", "share", "date"})


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "int"

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


COUNTY_COLUMNS = (Column("county", "区县代码", "text"), Column("county_name", "区县", "text"))


@dataclass
class Table:
    """One figure as a table. A row may carry `_drill`: column key (or "*" for the row) → the
    list behind that cell, as {"kind": "projects" | "checks", **filters}."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    note: str = ""
    empty: str = "暂无数据"

    def as_dict(self) -> dict:
        return asdict(self)

    def cell_drill(self, row: dict, column: str) -> dict | None:
        links = row.get("_drill") or {}
        return links.get(column) or links.get("*")


def drill(kind: str, **filters) -> dict:
    """A drill-down target: the projects or checks list with these filters (empty ones dropped)."""
    return {"kind": kind, **{k: str(v) for k, v in filters.items() if v not in (None, "")}}
