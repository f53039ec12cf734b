"""Unified project codes (统一项目代码, GB/T 40058-2021): shape, parts and pluggable checks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string

__all__ = ["UnifiedProjectCode", "parse_unified_project_code", "validate_unified_project_code"]

_PATTERN = re.compile(r"^(\d{4})-(\d{6})-(\d{2})-(\d{2})-(\d{6})$")
PROJECT_TYPES = {"01": "审批", "02": "核准", "03": "备案"}


@dataclass(frozen=True)
class UnifiedProjectCode:
    """The parts of a code `YYYY-RRRRRR-II-TT-NNNNNN`."""

    time: str
    region: str
    sector: str
    project_type: str
    serial: str

    def __str__(self) -> str:
        return f"{self.time}-{self.region}-{self.sector}-{self.project_type}-{self.serial}"


def _time_code_ok(time: str) -> bool:
    # Older codes start with the year (YYYY); newer ones with year and month (YYMM).
    year = int(time)
    yymm_ok = 1 <= int(time[2:]) <= 12 and int(time[:2]) >= 15
    return 1990 <= year <= 2100 or yymm_ok


def parse_unified_project_code(value: str) -> UnifiedProjectCode:
    """Split and check a unified project code's shape; raise ValidationError saying what is off."""
    text = (value or "").strip()
    match = _PATTERN.match(text)
    if not match:
        raise ValidationError(
            "统一项目代码格式应为 YYYY-RRRRRR-II-TT-NNNNNN (24 位，20 个数字加 4 个连字符)，"
            f"例如 2024-370811-48-01-000123；收到 “{text[:40]}”。"
            " (A unified project code looks like 2024-370811-48-01-000123.)",
            code="format",
        )
    code = UnifiedProjectCode(*match.groups())
    if not _time_code_ok(code.time):
        raise ValidationError(
            f"统一项目代码的时间码 {code.time} 不是有效的年份 (YYYY) 或年月 (YYMM)。"
            f" (Time code {code.time} is neither a year nor a year-month.)",
            code="time",
        )
    if code.project_type not in PROJECT_TYPES:
        raise ValidationError(
            f"项目类型码 {code.project_type} 无效，应为 01 审批、02 核准 或 03 备案。"
            f" (Project type {code.project_type} must be 01, 02 or 03.)",
            code="project_type",
        )
    for dotted in settings.BLUEPRINT["PROJECT_CODE_CHECKS"]:
        import_string(dotted)(code)
    return code


def validate_unified_project_code(value: str) -> None:
    """Django field validator: the code's shape (the region is checked against districts in services)."""
    parse_unified_project_code(value)
