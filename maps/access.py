"""What a page visitor may see: the one place the pages consult the access policy.

Until the access-control issue lands this is the interim rule the OGC API applies
(`api.ogc.adapter.access_class`, `api.ogc.config.LEVELS_BY_ACCESS`): anonymous visitors see public
layers, staff internal ones too, superusers restricted ones. Swap this module's body for the
real policy; the pages call nothing else.
"""

from __future__ import annotations

from django.http import HttpRequest

from blueprint.errors import Forbidden
from layers.models import Layer

__all__ = ["visible_layers", "can_see_projects", "require_projects", "project_layer"]

PROJECT_LAYER = "project_site"


def _access_class(request: HttpRequest) -> str:
    # Imported here: api.ogc.adapter imports pygeoapi, which pages need only for this rule.
    from api.ogc.adapter import access_class

    return access_class(request)


def _levels(request: HttpRequest) -> tuple[str, ...]:
    from api.ogc.config import LEVELS_BY_ACCESS

    return LEVELS_BY_ACCESS[_access_class(request)]


def visible_layers(request: HttpRequest, kind: str | None = None) -> list[Layer]:
    """The layers with an active version that this visitor may see, in registry order."""
    layers = (Layer.objects.select_related("active_version")
              .filter(active_version__isnull=False, access_level__in=_levels(request)))
    if kind:
        layers = layers.filter(kind=kind)
    return list(layers.order_by("slug"))


def can_see_projects(request: HttpRequest) -> bool:
    """Projects and their sites are internal data: staff see them, anonymous visitors do not."""
    return Layer.objects.filter(slug=PROJECT_LAYER, access_level__in=_levels(request)).exists()


def project_layer(request: HttpRequest) -> Layer | None:
    """The registry entry of project sites when this visitor may see them, else None."""
    return Layer.objects.filter(slug=PROJECT_LAYER, access_level__in=_levels(request)).first()


def require_projects(request: HttpRequest) -> None:
    """Raise Forbidden unless the visitor may see projects."""
    if not can_see_projects(request):
        raise Forbidden("查询项目需要登录有权限的账号。 (Sign in with an account allowed to see projects.)")
