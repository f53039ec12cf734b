"""Project sites as a layer (项目选址): the current site revision of every project, read live.

Sites are revisions of projects, not features of an imported version: `project_site` has no
layer version. The view `layers_current_site` (migration 0004) gives each project's latest
revision in the shape of a layer's features (fid, properties, geom, area_m2), so the OGC
features and tiles read it like any version, and a new revision is there at once. Who sees which
sites is the access policy's project scope (`blueprint.access.projects_q`): a county planner
its districts, a token its districts, the city level every project.
"""

from __future__ import annotations

import re

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.utils import translation

from blueprint import access
from layers.models import CurrentSite, Project

__all__ = ["SITE_LAYER", "LIVE_LAYERS", "SITE_FIELDS", "live_features", "visible_sites", "tile_source",
           "view_sql"]

SITE_LAYER = "project_site"

# name → (schema type, Chinese title, English title); the registry entry's attribute schema.
SITE_FIELDS = {
    "XMDM": ("string", "项目代码", "unified project code"),
    "XMMC": ("string", "项目名称", "project name"),
    "JSDW": ("string", "建设单位", "applicant"),
    "XMLX": ("string", "项目类型", "project type"),
    "JD": ("string", "审批阶段", "approval stage"),
    "XZQDM": ("string", "行政区划代码", "district code"),
    "XZQMC": ("string", "行政区划名称", "district name"),
    "HXBB": ("integer", "红线版本号", "site revision"),
    "HXRQ": ("date", "红线修订日期", "site revision date"),
}


def visible_sites(who) -> QuerySet:
    """The current sites of the projects `who` (a principal or request) may see."""
    sites = CurrentSite.objects.filter(access.projects_q(who, "project__"))
    try:
        sites.query.sql_with_params()
    except EmptyResultSet:  # a scope that holds nothing (a county planner without districts), as SQL
        return CurrentSite.objects.filter(id__isnull=True)
    return sites


# The layers read live from a register rather than from imported versions: slug → the features
# (fid, properties, geom, area_m2) a caller may see.
LIVE_LAYERS = {SITE_LAYER: visible_sites}


def live_features(slug: str, who) -> QuerySet:
    """The features of the live layer `slug` that `who` may see."""
    return LIVE_LAYERS[slug](who)


def tile_source(slug: str, who) -> str:
    """The SQL selecting (fid, properties, geom, area_m2) of the live layer's features `who` may
    see, for the tile statement (layers/tiles.py). Values are bound by the driver (psycopg's own
    quoting), not pasted."""
    statement, params = live_features(slug, who).values("fid", "properties", "geom", "area_m2") \
        .query.sql_with_params()
    with connection.cursor():  # compose_sql needs an open connection
        return connection.ops.compose_sql(statement, params)


def _chinese(label) -> str:
    """The Chinese part of a choice label written "english (中文)"."""
    with translation.override(None):
        text = str(label)
    found = re.search(r"\(([^()]*)\)\s*$", text)
    return found.group(1) if found else text


def _case(column: str, choices) -> str:
    whens = " ".join(f"WHEN '{value}' THEN '{_chinese(label).replace(chr(39), chr(39) * 2)}'"
                     for value, label in choices)
    return f"CASE {column} {whens} ELSE {column} END"


def view_sql() -> str:
    """CREATE the view of current sites (the latest revision of each project), its attributes as
    the registry's SITE_FIELDS, stage and type in Chinese, the revision date in Beijing time."""
    return f"""CREATE OR REPLACE VIEW layers_current_site AS
SELECT r.id, p.id AS fid, r.project_id, r.geom, r.area_m2,
  jsonb_build_object(
    'XMDM', p.code, 'XMMC', p.name, 'JSDW', p.applicant,
    'XMLX', {_case("p.project_type", Project.ProjectType.choices)},
    'JD', {_case("p.stage", Project.Stage.choices)},
    'XZQDM', p.district_id, 'XZQMC', d.name, 'HXBB', r.number,
    'HXRQ', to_char(r.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')) AS properties
FROM layers_siterevision r
JOIN layers_project p ON p.id = r.project_id
JOIN layers_district d ON d.code = p.district_id
WHERE NOT EXISTS (SELECT 1 FROM layers_siterevision later
                  WHERE later.project_id = r.project_id AND later.number > r.number)"""
