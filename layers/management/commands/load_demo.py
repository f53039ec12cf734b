"""`manage.py load_demo`: build the demo fixtures if needed and load them; a no-op when unchanged."""

import json
from pathlib import Path

import shapely
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from blueprint.errors import BlueprintError
from fixtures import ensure_built
from layers import crs
from layers.imagery import import_scene
from layers.importers import import_layer
from layers.models import Project
from layers.services import add_site_revision, create_project, ensure_seed_layers, geometry_hash

# Districts first: project codes are checked against them.
DEMO_LAYERS = ["admin_district", "ecological_redline", "basic_farmland", "urban_development_boundary",
               "urban_space", "agricultural_space", "ecological_space", "water_body"]


class Command(BaseCommand):
    # A data command: `migrate` runs the system checks at set-up; loading the URLconf for them
    # here would import the whole web stack (pygeoapi, DRF) before every import.
    requires_system_checks: list = []
    help = "构建并加载演示数据 (build and load the demo data)."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=["small", "city"], default="small")
        parser.add_argument("--data", help="a folder built by `python -m fixtures.build`")

    def handle(self, *args, size, data=None, **options):
        default = settings.BLUEPRINT["DATA_DIR"] / "fixtures" / size
        folder = Path(data) if data else ensure_built(size, default)
        ensure_seed_layers()
        # The generated control lines are complete for the counties they were built for, even
        # where a county has none of a layer's features.
        counties = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["counties"]
        try:
            for slug in DEMO_LAYERS:
                coverage = None if slug == "admin_district" else counties
                summary = import_layer(slug, folder / f"{slug}.gpkg", imported_by="load_demo",
                                       coverage=coverage)
                state = "imported" if summary.created else "unchanged"
                if not summary.activated:
                    state += f", NOT active ({summary.blocking_failures} blocking quality failures)"
                self.stdout.write(f"  {slug}: v{summary.version} {state}, {summary.features} features")
            added = load_projects(folder / "project_sites.geojson")
            self.load_imagery(folder)
        except BlueprintError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(self.style.SUCCESS(f"演示数据已就绪 demo data ready ({size}); "
                                             f"{added} project site revisions added"))

    def load_imagery(self, folder: Path) -> None:
        """Import the imagery fixtures listed in the manifest (unchanged files are skipped)."""
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        for slug, scenes in manifest.get("imagery", {}).items():
            for entry in scenes:
                summary = import_scene(slug, folder / entry["file"], imported_by="load_demo")
                state = "imported" if summary.created else "unchanged"
                self.stdout.write(f"  {slug}: scene {summary.acquired} v{summary.version} {state}")


def load_projects(path: Path) -> int:
    """Create the demo projects, adding a site revision where the drawn site changed."""
    added = 0
    for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
        props = feature["properties"]
        geom = crs.to_cgcs2000(shapely.geometry.shape(feature["geometry"]), crs.parse_crs("CRS84"))
        project = Project.objects.filter(code=props["XMDM"]).first() or create_project(
            code=props["XMDM"], name=props["XMMC"], applicant=props["JSDW"],
            project_type=props["XMLX"], stage=props["JD"], category=props["GCLB"])
        current = project.current_site
        if current is None or current.geometry_hash != geometry_hash(geom):
            add_site_revision(project, geom, source_format="geojson", source_crs="CRS84",
                              note="demo data")
            added += 1
    return added
