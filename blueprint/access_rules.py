"""Which function or token interface each endpoint needs: the one rule table.

Keys are URL routes as Django resolves them (`request.resolver_match.route`), matched as shell
patterns, first match wins. An endpoint without a matching rule is refused to everyone (and
fails tests/blueprint/test_access_matrix.py), so a new endpoint must be given a rule here.

A rule says:
- `perm`: the function permission a person needs (None: anyone, anonymous included);
- `interface`: the token interface a system needs (None: tokens are refused, unless the rule
  is public, i.e. neither `perm` nor `interface` nor `people_only` is set);
- `people_only`: refuse tokens even on a route open to anonymous people (the admin, the pages).
Data-level rules (layer access levels, district and applicant scopes) apply on top, in the
views, through `blueprint.access`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from blueprint.access import Perm
from blueprint.models import Interface

__all__ = ["Rule", "RULES", "rule_for", "decide"]


@dataclass(frozen=True)
class Rule:
    perm: Perm | None = None
    interface: str | None = None
    people_only: bool = False

    @property
    def public(self) -> bool:
        return self.perm is None and self.interface is None and not self.people_only


PUBLIC = Rule()
# Pages (and their data endpoints) are for people; they filter what they show by the caller's layers
# and projects. A token gets only what its interfaces name, and no interface names a page.
PAGE = Rule(people_only=True)
LAYER_READ = Rule(interface=Interface.OGC_READ)  # layer levels are applied per layer
CHECKS = Rule(Perm.READ_REPORTS, Interface.CHECKS)
PROCESS = Rule(Perm.RUN_CHECKS, Interface.COMPLIANCE_PROCESS)

RULES: list[tuple[str, Rule]] = [
    ("", PAGE),
    ("healthz", PUBLIC),  # ok or not to anyone; the detail to operators (blueprint.views.healthz)
    # Prometheus: a token with the metrics interface, or (the view checks) the local network.
    ("metrics", Rule(interface=Interface.METRICS)),
    ("accounts/*", PUBLIC),  # login, logout
    ("oidc/*", PUBLIC),  # OpenID Connect callbacks, when enabled
    ("admin/*", Rule(people_only=True)),  # the admin checks staff and the policy itself
    ("api/openapi.json", PUBLIC),
    ("api/docs/", PUBLIC),
    ("api/checks", Rule(Perm.RUN_CHECKS, Interface.CHECKS)),
    ("api/checks/<str:check_id>/rerun", Rule(Perm.RERUN_CHECKS, Interface.CHECKS)),
    # A printed report carries this link: whoever holds the report may verify it.
    ("api/checks/<str:check_id>/verify", PUBLIC),
    ("api/checks/*", CHECKS),
    ("api/jobs/*", CHECKS),
    ("api/projects/*", CHECKS),
    ("api/gate/*", Rule(Perm.CALL_GATE, Interface.GATE)),
    # Data quality and counties' submissions; layer levels and district scopes apply in the views.
    ("api/layers/<slug:slug>/versions/<int:number>/quality/run", Rule(Perm.IMPORT_LAYERS)),
    ("api/layers/*", Rule(Perm.READ_REPORTS, Interface.DATA_SUBMISSION)),
    ("api/submissions/<int:pk>/accept", Rule(Perm.REVIEW_SUBMISSIONS)),
    ("api/submissions/<int:pk>/return", Rule(Perm.REVIEW_SUBMISSIONS)),
    ("api/submissions*", Rule(Perm.READ_REPORTS, Interface.DATA_SUBMISSION)),
    ("api/imagery*", LAYER_READ),  # imagery (being built): per-layer levels inside
    ("tiles/*", LAYER_READ),  # imagery / vector tiles (being built)
    # Version diffs and 多规合一 conflicts (and their downloads): planners, not applicants.
    ("maps/versions/*", Rule(Perm.REVIEW_PLANS, people_only=True)),
    ("maps/conflicts*", Rule(Perm.REVIEW_PLANS, people_only=True)),
    # The province reads the statistics with its token; a county planner sees its districts.
    ("api/statistics*", Rule(Perm.READ_STATISTICS, Interface.STATISTICS)),
    ("maps/statistics*", Rule(Perm.READ_STATISTICS, people_only=True)),  # not applicants: 403
    ("maps/ops*", Rule(Perm.MONITOR, people_only=True)),  # the operator page and its acknowledgements
    ("maps/*", PAGE),  # map pages and their data endpoints (/maps/data/…)
    # The province tells us it wrote feedback: we read it back (exchange/).
    ("exchange/notify", Rule(Perm.SHARE_DATA, Interface.EXCHANGE_NOTIFY)),
    ("exchange/*", Rule(Perm.SHARE_DATA)),  # the sharing page; county planners see their districts
    ("ogc/processes/*/execution", PROCESS),
    ("ogc/jobs*", PROCESS),
    ("ogc/collections/*/map/tiles*", LAYER_READ),  # map tiles (PNG), imagery and vector layers alike
    ("ogc", LAYER_READ),  # the landing page without its slash (pygeoapi's own links)
    ("ogc/*", LAYER_READ),  # landing, collections, items, tiles, processes list …
]


def rule_for(route: str) -> Rule | None:
    """Return the first rule whose pattern matches `route`, or None (refused)."""
    for pattern, rule in RULES:
        if fnmatchcase(route, pattern):
            return rule
    return None


def decide(rule: Rule | None, who) -> int:
    """Return 200 when `who` may call an endpoint with this rule, else 401 or 403."""
    from blueprint.access import Role

    if rule is None:
        return 403
    if who.is_token:
        return 200 if rule.public or (rule.interface and rule.interface in who.interfaces) else 403
    if rule.perm is None:
        return 200
    if who.role == Role.ANONYMOUS:
        return 401
    return 200 if rule.perm in who.perms else 403
