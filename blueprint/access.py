"""The one access policy: roles, function permissions, layer access levels and scopes.

Every face asks the same questions here — REST, OGC (collections, items, tiles, processes),
map pages, reports and the admin:

- `principal(request)`: who is calling (a person's role and scope, a system token, or anonymous);
- `allows(who, perm)`: may they use a function (import layers, run checks, call the gate, …);
- `can_read_layer(who, layer)` / `readable_layers_q(who)` / `layer_access_key(who)`: layer levels;
- `can_see_project(who, project)` / `projects_q(who)` / `can_see_check(who, check)`: data scope;
- `require_project(who, project)` / `require_check(who, check)` / `require_job`: the same, raising
  NotFound in the words of `not_found` (a missing object and another's answer alike), audited;
- `record_layer_read(request, layer, bbox)`: audit a read of a restricted layer;
- `can_read_near_site(who, layer)`: may `who` see a layer's features around a site of theirs.

Which endpoint needs which function or token interface is the rule table in
`blueprint.access_rules`, enforced for every request by `blueprint.middleware.AccessMiddleware`.
The module imports no app's models (layers and compliance depend on blueprint, not the reverse):
it reads the fields it needs from the objects it is given and returns Q objects over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Q

from blueprint.errors import NotFound
from blueprint.models import Interface, Role

__all__ = [
    "Perm", "Role", "Interface", "Principal", "ANONYMOUS", "principal", "principal_for_user",
    "principal_for_token", "allows", "can_read_layer", "readable_layers_q", "layer_access_key",
    "can_see_project", "projects_q", "can_see_check", "checks_q", "can_see_job", "jobs_q", "require_project",
    "require_check", "record_layer_read", "can_read_near_site", "SITE_CONTEXT_M",
    "districts_q", "require_job", "not_found", "as_principal",
]


class Perm(StrEnum):
    """Function permissions."""

    IMPORT_LAYERS = "import_layers"
    EDIT_RULESETS = "edit_rulesets"
    RUN_CHECKS = "run_checks"
    RERUN_CHECKS = "rerun_checks"
    READ_REPORTS = "read_reports"
    CALL_GATE = "call_gate"
    MANAGE_USERS = "manage_users"  # users, roles, district scopes, tokens, login lock-outs, 2FA devices
    READ_AUDIT = "read_audit"  # read and export the audit log
    SHARE_DATA = "share_data"  # the sharing page: rows sent to the province, re-sending them
    REVIEW_PLANS = "review_plans"  # version diffs and 多规合一 conflicts (county planners: their districts)
    SUBMIT_DATA = "submit_data"  # a county submits its part of a layer (县级数据报送)
    REVIEW_SUBMISSIONS = "review_submissions"  # the city accepts or returns counties' submissions
    OVERRIDE_QUALITY = "override_quality"  # activate a version despite blocking quality failures
    READ_STATISTICS = "read_statistics"  # the statistics dashboard, its exports and monthly reports
    MONITOR = "monitor"  # the operator page, its alerts, and the access and error logs


# 三员分立: the system administrator runs the data (layers, rule sets, configuration) and may use
# what the planners use; the security administrator only manages accounts and tokens; the audit
# administrator only reads and exports the audit log. No role holds two of the three jobs.
_DATA = frozenset({Perm.IMPORT_LAYERS, Perm.EDIT_RULESETS, Perm.RUN_CHECKS, Perm.RERUN_CHECKS,
                   Perm.READ_REPORTS, Perm.CALL_GATE, Perm.SHARE_DATA, Perm.REVIEW_PLANS,
                   Perm.REVIEW_SUBMISSIONS, Perm.OVERRIDE_QUALITY, Perm.READ_STATISTICS})
# Running the service (monitoring, alerts, service logs) is the system administrator's job too.
_OPERATE = frozenset({Perm.MONITOR})
ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.SYSTEM_ADMIN: _DATA | _OPERATE,
    Role.SECURITY_ADMIN: frozenset({Perm.MANAGE_USERS}),
    Role.AUDIT_ADMIN: frozenset({Perm.READ_AUDIT}),
    Role.ADMINISTRATOR: _DATA | _OPERATE,  # deprecated alias of the system administrator
    Role.CITY_PLANNER: frozenset({Perm.IMPORT_LAYERS, Perm.RUN_CHECKS, Perm.RERUN_CHECKS,
                                  Perm.READ_REPORTS, Perm.CALL_GATE, Perm.SHARE_DATA,
                                  Perm.REVIEW_PLANS, Perm.REVIEW_SUBMISSIONS, Perm.READ_STATISTICS}),
    Role.COUNTY_PLANNER: frozenset({Perm.RUN_CHECKS, Perm.RERUN_CHECKS, Perm.READ_REPORTS,
                                    Perm.CALL_GATE, Perm.SHARE_DATA, Perm.REVIEW_PLANS, Perm.SUBMIT_DATA,
                                    Perm.READ_STATISTICS}),
    Role.APPLICANT: frozenset({Perm.RUN_CHECKS, Perm.READ_REPORTS}),
    Role.SYSTEM: frozenset(),  # a token's functions come from its interfaces
    Role.ANONYMOUS: frozenset(),
}

INTERFACE_PERMS: dict[str, frozenset[Perm]] = {
    Interface.OGC_READ: frozenset(),
    Interface.GATE: frozenset({Perm.CALL_GATE}),
    Interface.CHECKS: frozenset({Perm.RUN_CHECKS, Perm.RERUN_CHECKS, Perm.READ_REPORTS}),
    Interface.COMPLIANCE_PROCESS: frozenset({Perm.RUN_CHECKS, Perm.READ_REPORTS}),
    Interface.EXCHANGE_NOTIFY: frozenset(),
    Interface.DATA_SUBMISSION: frozenset({Perm.SUBMIT_DATA}),
    Interface.STATISTICS: frozenset({Perm.READ_STATISTICS}),
    Interface.METRICS: frozenset(),
}

# Red-line and farmland detail (restricted) is for the city level; county planners meet it
# through check findings. A token reads public layers plus the layers it names. The security and
# audit administrators have no business with the data: public layers only, no project.
ROLE_LEVELS: dict[str, tuple[str, ...]] = {
    Role.SYSTEM_ADMIN: ("public", "internal", "restricted"),
    Role.SECURITY_ADMIN: ("public",),
    Role.AUDIT_ADMIN: ("public",),
    Role.ADMINISTRATOR: ("public", "internal", "restricted"),
    Role.CITY_PLANNER: ("public", "internal", "restricted"),
    Role.COUNTY_PLANNER: ("public", "internal"),
    Role.APPLICANT: ("public",),
    Role.SYSTEM: ("public",),
    Role.ANONYMOUS: ("public",),
}

# Roles that see every project and check; the others are scoped.
ALL_PROJECTS = frozenset({Role.SYSTEM_ADMIN, Role.ADMINISTRATOR, Role.CITY_PLANNER})


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the policy sees them."""

    role: str
    name: str = "anonymous"
    districts: tuple[str, ...] = ()
    organisation: str = ""
    interfaces: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    token_id: int | None = None
    perms: frozenset = field(default=frozenset(), compare=False)

    @property
    def is_person(self) -> bool:
        return self.role not in (Role.SYSTEM, Role.ANONYMOUS)

    @property
    def is_token(self) -> bool:
        return self.role == Role.SYSTEM


ANONYMOUS = Principal(role=Role.ANONYMOUS)


def principal_for_user(user) -> Principal:
    """The principal of a signed-in person: the role of their profile. Without a profile a person
    is an applicant, a superuser a security administrator (the flag grants nothing more)."""
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    profile = getattr(user, "access", None) if user.pk else None
    if profile is not None:
        role = Role.SYSTEM_ADMIN if profile.role == Role.ADMINISTRATOR else profile.role
    else:
        role = Role.SECURITY_ADMIN if user.is_superuser else Role.APPLICANT
    return Principal(role=role, name=user.get_username(),
                     districts=tuple(profile.districts) if profile else (),
                     organisation=profile.organisation if profile else "", perms=ROLE_PERMS[role])


def principal_for_token(token) -> Principal:
    """The principal of an external system calling with a token."""
    perms = frozenset().union(*(INTERFACE_PERMS.get(i, frozenset()) for i in token.interfaces))
    return Principal(role=Role.SYSTEM, name=f"token:{token.name}", districts=tuple(token.districts),
                     interfaces=tuple(sorted(token.interfaces)), layers=tuple(sorted(token.layers)),
                     token_id=token.pk, perms=perms)


def principal(request) -> Principal:
    """Who is calling (cached on the request); accepts Django's and DRF's requests."""
    request = getattr(request, "_request", request)
    cached = getattr(request, "_principal", None)
    if cached is None:
        token = getattr(request, "access_token", None)
        cached = principal_for_token(token) if token else principal_for_user(getattr(request, "user", None))
        request._principal = cached
    return cached


def _who(who) -> Principal:
    return who if isinstance(who, Principal) else principal(who)


def as_principal(who) -> Principal:
    """The principal of a request, or the principal itself."""
    return _who(who)


def allows(who, perm: Perm | str) -> bool:
    """May `who` (a principal or a request) use the function `perm`?"""
    return Perm(perm) in _who(who).perms


def _field(obj, name: str):
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def can_read_layer(who, layer) -> bool:
    """May `who` read a layer (a Layer, or a mapping with `slug` and `access_level`)?"""
    p = _who(who)
    if p.is_token and Interface.OGC_READ not in p.interfaces:
        return False
    level = _field(layer, "access_level")
    return level in ROLE_LEVELS[p.role] or (p.is_token and _field(layer, "slug") in p.layers)


def readable_layers_q(who, prefix: str = "") -> Q:
    """A filter over Layer (or `prefix`-ed relations to it) keeping the layers `who` may read."""
    p = _who(who)
    if p.is_token and Interface.OGC_READ not in p.interfaces:
        return Q(pk__in=[])
    q = Q(**{f"{prefix}access_level__in": ROLE_LEVELS[p.role]})
    if p.is_token and p.layers:
        q |= Q(**{f"{prefix}slug__in": p.layers})
    return q


def layer_access_key(who) -> tuple:
    """A hashable key that is equal for callers who see the same layers (for caches)."""
    p = _who(who)
    if p.is_token and Interface.OGC_READ not in p.interfaces:
        return ((), ())
    return ROLE_LEVELS[p.role], p.layers if p.is_token else ()


def _district_prefixes(codes) -> list[str]:
    # A city code (370800) covers its counties (3708xx); a county code covers itself.
    out = []
    for code in codes:
        code = str(code).strip()
        trimmed = code
        while len(trimmed) > 2 and trimmed.endswith("00"):
            trimmed = trimmed[:-2]
        out.append(trimmed)
    return out


def _sees_all_projects(p: Principal) -> bool:
    return p.role in ALL_PROJECTS or (p.is_token and not p.districts)


def projects_q(who, prefix: str = "") -> Q:
    """A filter over Project (or `prefix`-ed relations to it) keeping the projects `who` may see."""
    p = _who(who)
    if _sees_all_projects(p):
        return Q()
    if p.role in (Role.COUNTY_PLANNER, Role.SYSTEM):
        q = Q(pk__in=[])
        for code in _district_prefixes(p.districts):
            q |= Q(**{f"{prefix}district__code__startswith": code})
        return q
    if p.role == Role.APPLICANT and p.organisation:
        return Q(**{f"{prefix}applicant": p.organisation})
    return Q(pk__in=[])


def districts_q(who) -> Q:
    """A filter over District keeping those `who` may file projects in (all, for the city level)."""
    p = _who(who)
    if _sees_all_projects(p):
        return Q()
    q = Q(pk__in=[])
    if p.role in (Role.COUNTY_PLANNER, Role.SYSTEM):
        for code in _district_prefixes(p.districts):
            q |= Q(code__startswith=code)
    return q


def can_see_project(who, project) -> bool:
    """May `who` see (and, with the function permission, act on) this project?"""
    p = _who(who)
    if project is None:
        return False
    if _sees_all_projects(p):
        return True
    if p.role in (Role.COUNTY_PLANNER, Role.SYSTEM):
        return any(project.district_id.startswith(c) for c in _district_prefixes(p.districts))
    return p.role == Role.APPLICANT and bool(p.organisation) and project.applicant == p.organisation


def checks_q(who, prefix: str = "") -> Q:
    """A filter over Check (or `prefix`-ed relations to it) keeping the checks `who` may see."""
    p = _who(who)
    if _sees_all_projects(p):
        return Q()
    own = Q(**{f"{prefix}created_by": p.name}) if p.role != Role.ANONYMOUS else Q(pk__in=[])
    return projects_q(p, f"{prefix}project__") & Q(**{f"{prefix}project__isnull": False}) | own


def jobs_q(who) -> Q:
    """A filter over background jobs keeping those `who` may see (as `can_see_job` says)."""
    p = _who(who)
    if _sees_all_projects(p):
        return Q()
    own = Q(created_by=p.name) if p.role != Role.ANONYMOUS else Q(pk__in=[])
    return own | Q(check_result__isnull=False) & checks_q(p, "check_result__")


def can_see_check(who, check) -> bool:
    """A check is visible with its project, or to whoever submitted it."""
    p = _who(who)
    if _sees_all_projects(p) or (p.name != "anonymous" and check.created_by == p.name):
        return True
    return check.project_id is not None and can_see_project(p, check.project)


def can_see_job(who, job) -> bool:
    """A background check is visible to whoever queued it, and with its check once done."""
    p = _who(who)
    if _sees_all_projects(p) or (p.role != Role.ANONYMOUS and job.created_by == p.name):
        return True
    return job.check_result_id is not None and can_see_check(p, job.check_result)


_UNSEEN = {
    "project": "项目 {key} 不存在或无权查看。 (No project {key}, or not yours to see.)",
    "check": "检查记录 {key} 不存在或无权查看。 (No check {key}, or not yours to see.)",
    "job": "后台任务 {key} 不存在或无权查看。 (No job {key}, or not yours to see.)",
    "submission": "报送 {key} 不存在或无权查看。 (No submission {key}, or not yours to see.)",
    "layer": "图层 {key} 不存在或无权查看。 (No layer {key}, or not yours to see.)",
}


def not_found(kind: str, key, **context) -> NotFound:
    """The one answer for a project, check or job that does not exist and for one the caller may
    not see: the same words, so that the answer tells nothing about what exists."""
    return NotFound(_UNSEEN[kind].format(key=key), **context)


def _refuse(kind: str, key) -> NotFound:
    from blueprint import audit

    audit.refused(404, target=f"{kind}:{key}", reason="out of the caller's scope")
    return not_found(kind, key)


def require_project(who, project, code: str = ""):
    """Return the project when `who` may see it; otherwise answer as if it did not exist."""
    code = code or getattr(project, "code", "")
    if project is None:
        raise not_found("project", code)
    if not can_see_project(who, project):
        raise _refuse("project", code)
    return project


def require_check(who, check):
    """Return the check when `who` may see it; otherwise answer as if it did not exist."""
    if not can_see_check(who, check):
        raise _refuse("check", check.pk)
    return check


def require_job(who, job):
    """Return the background job when `who` may see it; otherwise answer as if it did not exist."""
    if not can_see_job(who, job):
        raise _refuse("job", job.pk)
    return job


# How far around a site (metres, each side of its bounding box) the features of layers a person may
# not browse are shown with the site: what they are judged against, and no further.
SITE_CONTEXT_M = 300


def can_read_near_site(who, layer) -> bool:
    """May `who` see a layer's features within SITE_CONTEXT_M of a site they may see (their own
    project's or check's: the caller has passed `require_project` / `require_check`)?

    Whoever may read the layer may; besides, a person who may read reports sees the lines their
    own site is judged against, clipped to the site's surroundings (audited as a restricted read).
    Tokens get only what their interfaces name.
    """
    p = _who(who)
    return can_read_layer(p, layer) or (p.is_person and Perm.READ_REPORTS in p.perms)


def record_layer_read(request, layer, bbox=None) -> None:
    """Audit a read of a restricted layer: who read which layer, where (bbox)."""
    if _field(layer, "access_level") != "restricted":
        return
    from blueprint import audit

    audit.record("layer.read", target=_field(layer, "slug"), request=request,
                 bbox=",".join(str(v) for v in bbox) if isinstance(bbox, list | tuple) else (bbox or ""))
