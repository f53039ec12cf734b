"""`manage.py import_imagery <slug> <path>`: import a GeoTIFF as a new scene of a raster layer."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from blueprint.errors import BlueprintError
from layers.imagery import import_scene
from layers.services import register_layer


class Command(BaseCommand):
    # A data command: no system checks (they would import the whole web stack).
    requires_system_checks: list = []
    help = "导入 GeoTIFF 影像为栅格图层的新景 (any CRS, any band count, 8/16-bit) → COG."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="raster layer slug, e.g. hires_jining")
        parser.add_argument("path", help="GeoTIFF file")
        parser.add_argument("--acquired", type=_date, default=None,
                            help="acquisition date YYYY-MM-DD (default: the file's ACQUISITION_DATE "
                                 "or TIFFTAG_DATETIME tag)")
        parser.add_argument("--sensor", default="", help="sensor (default: the file's SENSOR tag)")
        parser.add_argument("--create", action="store_true",
                            help="register the raster layer first if it is new (--title-zh/--title-en)")
        parser.add_argument("--title-zh", default="")
        parser.add_argument("--title-en", default="")
        parser.add_argument("--access", default="internal", choices=["public", "internal", "restricted"])
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, slug, path, **options):
        quiet = options["no_progress"] or options["verbosity"] == 0
        try:
            if options["create"]:
                register_layer(slug, options["title_zh"] or slug, options["title_en"] or slug,
                               kind="raster", geometry_type="Raster", access_level=options["access"],
                               source=path)
            summary = import_scene(slug, path, acquired=options["acquired"], sensor=options["sensor"],
                                   imported_by="cli", progress=None if quiet else self.stderr._out)
        except BlueprintError as exc:
            raise CommandError(exc.detail) from exc
        if not summary.created:
            self.stdout.write(f"{slug}: 文件未变化，已是第 {summary.version} 版的影像 (unchanged: scene "
                              f"{summary.scene_id}, version {summary.version}); nothing imported.")
            return
        bbox = ", ".join(f"{v:.5f}" for v in summary.bbox)
        self.stdout.write(self.style.SUCCESS(
            f"{slug} 第 {summary.version} 版已启用 (version {summary.version} active): 影像 scene "
            f"{summary.scene_id}, 获取日期 acquired {summary.acquired:%Y-%m-%d}, 传感器 sensor "
            f"{summary.sensor or '-'}, 分辨率 {summary.resolution_m:g} m, 波段 bands "
            f"{'/'.join(summary.bands)}, 坐标系 {summary.crs}, 范围 bbox [{bbox}], "
            f"COG {summary.cog_bytes / 1e6:.1f} MB, {summary.seconds}s"))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"日期格式应为 YYYY-MM-DD：“{text}” (Dates are YYYY-MM-DD.)") from None
