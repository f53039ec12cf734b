"""Switching a layer's active version: a rollback to any earlier version, or a staged new one.

Versions are immutable and each keeps its partition, so activating one is a pointer move plus what
follows any activation (districts rebuilt, the `version_activated` subscribers), all in one
transaction, audited. What a switch would change elsewhere (the checks whose verdicts move with
it) is asked of the impact previews registered here: `compliance` registers its own, since layers
never imports compliance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from blueprint import audit
from blueprint.errors import InvalidInput, NotFound
from layers.models import Layer, LayerVersion
from layers.services import on_version_activated

__all__ = ["ImpactTable", "register_impact_preview", "impact_of", "activate_version", "get_version"]


@dataclass
class ImpactTable:
    """What an activation would change in one area, as a table a page or a command can show."""

    title: str
    summary: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    data: dict = field(default_factory=dict)  # the same in machine-readable form (JSON, the audit)


_PREVIEWS: list[Callable[[Layer, LayerVersion], ImpactTable]] = []


def register_impact_preview(preview: Callable[[Layer, LayerVersion], ImpactTable]) -> None:
    """Add a function telling what activating `version` of `layer` would change (once per process)."""
    if preview not in _PREVIEWS:
        _PREVIEWS.append(preview)


def impact_of(layer: Layer, version: LayerVersion) -> list[ImpactTable]:
    """Ask every registered preview what activating `version` would change, before it happens."""
    return [preview(layer, version) for preview in _PREVIEWS]


def get_version(slug: str, number: int) -> tuple[Layer, LayerVersion]:
    """Return a layer and one of its versions by number, or raise NotFound."""
    layer = Layer.objects.filter(slug=slug).select_related("active_version").first()
    if layer is None:
        raise NotFound(f"图层 “{slug}” 未登记。 (Layer '{slug}' is not registered.)")
    version = layer.versions.filter(number=number).first()
    if version is None:
        numbers = ", ".join(str(n) for n in layer.versions.order_by("number")
                            .values_list("number", flat=True))
        raise NotFound(f"图层 {slug} 没有第 {number} 版；现有版本：{numbers or '无'}。"
                       f" (Layer {slug} has no version {number}; it has: {numbers or 'none'}.)")
    return layer, version


def activate_version(layer: Layer, version: LayerVersion, *, actor: str = "", reason: str = "",
                     impact: list[ImpactTable] | None = None) -> LayerVersion:
    """Make `version` the active version of `layer` (a rollback when it is an earlier one).

    One transaction: the layer row is locked, the pointer moved, districts and the subscribers
    of `version_activated` (the sharing outbox, the conflict recomputation) follow, and the switch
    is audited with its reason and the impact that was shown. Nothing changes when it fails.
    """
    if version.layer_id != layer.pk:
        raise InvalidInput(f"版本 {version} 不属于图层 {layer.slug}。 (Version {version} is not of layer"
                           f" {layer.slug}.)")
    if layer.kind != Layer.Kind.VECTOR:
        raise InvalidInput(f"影像图层 {layer.slug} 的场景按日期并存，不回滚。"
                           f" (Raster layer {layer.slug} keeps its scenes side by side: no rollback.)")
    reason = reason.strip()
    with transaction.atomic():
        locked = Layer.objects.select_for_update().get(pk=layer.pk)
        previous = locked.active_version_id
        if previous == version.pk:
            raise InvalidInput(f"第 {version.number} 版已是 {layer.slug} 的启用版本。"
                               f" (Version {version.number} is already active.)")
        if previous is not None and version.number < locked.active_version.number and not reason:
            raise InvalidInput("回滚到旧版本须写明原因。 (A rollback needs a written reason.)",
                               field="reason")
        locked.active_version = version
        locked.save(update_fields=["active_version"])
        on_version_activated(locked, version)
        before = LayerVersion.objects.filter(pk=previous).values_list("number", flat=True).first()
        audit.record("layer.rollback" if before and version.number < before else "layer.activate",
                     target=layer.slug, actor=actor or None, version=version.number, previous=before,
                     reason=reason, impact=[{"title": t.title, "summary": t.summary, **t.data}
                                            for t in impact or []])
    layer.active_version = version
    return version
