"""What a page visitor may see: the one place the pages consult the access policy
(blueprint.access): layers by their access level, projects and checks by role and scope."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest

from blueprint import access as policy
from blueprint.errors import Forbidden, NotFound
from layers.models import Layer

__all__ = ["visible_layers", "readable_summaries", "principal", "project_scope", "can_see_projects",
           "require_projects", "require_project", "require_check", "project_layer", "record_layer_read",
           "jurisdiction", "context_layers", "SITE_CONTEXT_M", "readable_vector_layer"]

PROJECT_LAYER = "project_site"
SITE_CONTEXT_M = policy.SITE_CONTEXT_M
principal = policy.principal
record_layer_read = policy.record_layer_read  # a restricted layer's features read through a page


def visible_layers(request: HttpRequest, kind: str | None = None) -> list[Layer]:
    """The layers with an active version that this visitor may read, in registry order."""
    layers = (Layer.objects.select_related("active_version")
              .filter(policy.readable_layers_q(request), active_version__isnull=False))
    if kind:
        layers = layers.filter(kind=kind)
    return list(layers.order_by("slug"))


def readable_summaries(request: HttpRequest, summaries: list) -> list:
    """The entries of layers.services.layer_summaries() this visitor may read."""
    return [layer for layer in summaries if policy.can_read_layer(request, layer)]


def project_scope(request: HttpRequest) -> Q | None:
    """A filter over Project keeping what this visitor may see; None for those who may not read
    projects and their checks at all (anonymous visitors, tokens without the checks interface)."""
    if not policy.allows(request, policy.Perm.READ_REPORTS):
        return None
    return policy.projects_q(request)


def can_see_projects(request: HttpRequest) -> bool:
    return project_scope(request) is not None


def project_layer(request: HttpRequest) -> Layer | None:
    """The registry entry of project sites when this visitor may see projects, else None."""
    if not can_see_projects(request):
        return None
    return Layer.objects.filter(slug=PROJECT_LAYER).first()


def require_projects(request: HttpRequest) -> None:
    """Raise Forbidden unless the visitor may see projects at all."""
    if not can_see_projects(request):
        raise Forbidden("查询项目需要登录有权限的账号。 (Sign in with an account allowed to see projects.)")


def require_project(request: HttpRequest, project, code: str = ""):
    return policy.require_project(request, project, code)


def require_check(request: HttpRequest, check):
    require_projects(request)
    return policy.require_check(request, check)


def jurisdiction(request: HttpRequest) -> tuple[tuple[str, ...], Q | None, bool]:
    """Where this visitor's work is, as the policy has it: their districts, the filter of the
    projects they may see, and whether those are their own (an applicant's) rather than a
    district's."""
    who = principal(request)
    return who.districts, project_scope(request), who.role == policy.Role.APPLICANT
def context_layers(request: HttpRequest, versions: dict[str, int], box) -> list[tuple[Layer, int]]:
    """The (layer, version id) pairs whose features around a site of the visitor's (a project or
    check they passed `require_project` / `require_check` for) the page adds: layers the visitor
    may not browse but may see near their own site (`can_read_near_site`). Each restricted one
    is audited as a read of `box`."""
    browsable = {layer.slug for layer in visible_layers(request)}
    layers = Layer.objects.filter(slug__in=versions, kind=Layer.Kind.VECTOR).exclude(slug__in=browsable)
    chosen = [(layer, versions[layer.slug]) for layer in layers.order_by("slug")
              if layer.slug != PROJECT_LAYER and policy.can_read_near_site(request, layer)]
    for layer, _ in chosen:
        policy.record_layer_read(request, layer, [round(v, 6) for v in box])
    return chosen


def readable_vector_layer(request: HttpRequest, slug: str) -> Layer:
    """The registered vector layer `slug` when the visitor may read it; else NotFound, audited
    (a hidden layer answers as a missing one). Project sites are not a feature layer here."""
    layer = next((layer for layer in visible_layers(request, kind=Layer.Kind.VECTOR)
                  if layer.slug == slug and slug != PROJECT_LAYER), None)
    if layer is None:
        from layers.services import audit_refused_layer

        audit_refused_layer(request, slug)
        raise NotFound(f"没有可查看的图层 “{slug}”。 (No visible layer '{slug}'.)")
    return layer
