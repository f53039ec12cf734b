"""The quality-rule kinds (质量校验规则类型): one class per kind, registered in one place.

A kind declares its parameters as JSON Schema and yields SQL that selects its failures set-wise
from one layer version's partition; the runner (`layers.quality.runner`) inserts them. The
choices of the admin and the schema of a rule's parameters are generated from this registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jsonschema

from blueprint.errors import InvalidInput

__all__ = [
    "QualityKind",
    "Context",
    "register",
    "KINDS",
    "kind",
    "choices",
    "params_schema",
    "validate_params",
]

KINDS: dict[str, type[QualityKind]] = {}


@dataclass(frozen=True)
class Context:
    """What a kind may read about the version under test."""

    version_id: int
    layer_slug: str
    schema: dict[str, str]  # the layer's attribute schema, field → type
    source_crs: str
    # A county's submission: only its own features (fid > fid_floor) must lie within `county`.
    county: str | None = None
    fid_floor: int = 0


class QualityKind:
    """One kind of quality rule. Subclasses set `name`, titles, `params` and `statements`."""

    name: ClassVar[str]
    title_zh: ClassVar[str]
    title_en: ClassVar[str]
    params: ClassVar[dict] = {}  # JSON Schema "properties"
    required: ClassVar[list[str]] = []

    def __init__(self, **params) -> None:
        self.p = params

    def statements(self, ctx: Context) -> list[tuple[str, dict]]:
        """SQL to run in order; the last one selects (fid, reason_zh, reason_en, geom, details)."""
        raise NotImplementedError

    @classmethod
    def schema(cls) -> dict:
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": cls.params,
            "required": cls.required,
        }


def register(cls: type[QualityKind]) -> type[QualityKind]:
    """Register a kind under its name (a class decorator)."""
    if cls.name in KINDS:
        raise ValueError(f"quality kind {cls.name} registered twice")
    KINDS[cls.name] = cls
    return cls


def kind(name: str) -> type[QualityKind]:
    if name not in KINDS:
        raise InvalidInput(
            f"未知的质量规则类型 “{name}”，可选：{', '.join(sorted(KINDS))}。"
            f" (Unknown quality rule kind '{name}'.)",
            field="kind",
        )
    return KINDS[name]


def choices() -> list[tuple[str, str]]:
    return [(name, f"{cls.title_zh} ({cls.title_en})") for name, cls in KINDS.items()]


def params_schema() -> dict:
    """The JSON Schema of a rule (kind + params), one branch per registered kind."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Quality rule",
        "oneOf": [
            {
                "type": "object",
                "required": ["kind"],
                "properties": {"kind": {"const": name}, "params": cls.schema()},
            }
            for name, cls in KINDS.items()
        ],
    }


def validate_params(name: str, params: dict) -> dict:
    """Check a rule's parameters against its kind's schema; raise InvalidInput saying what is off."""
    errors = sorted(
        jsonschema.Draft202012Validator(kind(name).schema()).iter_errors(params or {}),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(params)"
        raise InvalidInput(
            f"质量规则 {name} 的参数在 {where} 处有误：{errors[0].message}"
            f" (Quality rule {name}: invalid parameter at {where}.)",
            field="params",
        )
    return params or {}
