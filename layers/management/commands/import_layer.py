"""`manage.py import_layer <slug> <path>`: import a file as a new version of a layer."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from blueprint.errors import BlueprintError
from layers import crs
from layers.importers import import_layer
from layers.services import register_layer


class Command(BaseCommand):
    # A data command: `migrate` runs the system checks at set-up; loading the URLconf for them
    # here would import the whole web stack (pygeoapi, DRF) before every import.
    requires_system_checks: list = []
    help = "导入矢量文件为图层的新版本 (GeoJSON, GeoPackage, KML, zipped Shapefile)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="layer slug, e.g. basic_farmland")
        parser.add_argument("path", help="GeoJSON / GeoPackage / KML / zipped Shapefile")
        parser.add_argument("--create", action="store_true",
                            help="register the layer first if it is new (needs --title-zh/--title-en)")
        parser.add_argument("--title-zh", default="")
        parser.add_argument("--title-en", default="")
        parser.add_argument("--access", default=None, choices=["public", "internal", "restricted"],
                            help="the layer's access level (a new layer: internal by default; an existing"
                                 " one changes when the version is activated)")
        parser.add_argument("--coverage", default="",
                            help="comma-separated district codes the data is complete for "
                                 "(default: the counties its features touch)")
        parser.add_argument("--crs", default="",
                            help="the file's CRS when it has none or a wrong one, e.g. EPSG:4527")
        parser.add_argument("--preview", action="store_true",
                            help="import and run the quality rules, but do not activate"
                                 " (confirm in the admin)")
        parser.add_argument("--override-reason", default="",
                            help="activate despite blocking quality failures (a written reason, audited)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, slug, path, **options):
        try:
            if options["create"]:
                register_layer(slug, options["title_zh"] or slug, options["title_en"] or slug,
                               access_level=options["access"] or "internal", source=path)
            coverage = [c.strip() for c in options["coverage"].split(",") if c.strip()] or None
            extra = {"source_crs": options["crs"], "activate": not options["preview"],
                     "override_reason": options["override_reason"],
                     "access_level": options["access"] or ""}
            summary = self._import(slug, path, coverage, extra,
                                   quiet=options["no_progress"] or options["verbosity"] == 0)
        except BlueprintError as exc:
            raise CommandError(exc.detail) from exc
        if not summary.created:
            self.stdout.write(f"{slug}: 文件未变化，已是第 {summary.version} 版 (unchanged, version "
                              f"{summary.version}); nothing imported"
                              + ("; 已启用 active." if summary.activated else "; 未启用 not active."))
            self._quality(summary)
            return
        area = crs.area_units(summary.area_m2)
        bbox = ", ".join(f"{v:.5f}" for v in summary.bbox) if summary.bbox else "-"
        state = ("已启用 (active)" if summary.activated else
                 "有阻断性质量问题，未启用 (held by blocking quality failures)"
                 if summary.blocking_failures else
                 "待确认，未启用 (preview, not active)")
        self.stdout.write((self.style.SUCCESS if summary.activated else self.style.WARNING)(
            f"{slug} 第 {summary.version} 版{state}: "
            f"{summary.features} 个要素 features, 面积 {area['hectare']:.2f} 公顷 ha "
            f"({area['mu']:.1f} 亩), 范围 bbox [{bbox}], 修复 repaired {len(summary.repaired)}, "
            f"拒绝 rejected {len(summary.rejected)}, 源坐标系 {summary.source_crs}, {summary.seconds}s"))
        for item in summary.repaired[:20]:
            self.stdout.write(f"  修复 repaired fid={item['fid']}: {item['reason']}")
        for item in summary.rejected[:20]:
            self.stdout.write(f"  拒绝 rejected fid={item['fid']}: {item['reason']}")
        if summary.missing_fields:
            self.stdout.write(f"  文件缺少字段 missing fields: {', '.join(summary.missing_fields)}")
        if summary.dropped_fields:
            self.stdout.write(f"  未入库字段 dropped fields: {', '.join(summary.dropped_fields)}")
        self._quality(summary)
        if summary.blocking_failures and not summary.activated:
            raise CommandError(f"第 {summary.version} 版有 {summary.blocking_failures} 个阻断性质量问题，"
                               "未启用。"
                               "修正数据后重新导入，或由管理员以 --override-reason \"理由\" 强制启用。"
                               f" (Version {summary.version} held: fix the data, or override with a reason.)")

    def _quality(self, summary):
        if summary.quality_report is None:  # a version imported before quality rules existed
            return
        failed = {rule: n for rule, n in summary.quality_counts.items() if n}
        text = ", ".join(f"{rule} {n}" for rule, n in failed.items()) or "全部通过 all passed"
        self.stdout.write(f"  质量校验 quality (report #{summary.quality_report}): {text}; "
                          f"阻断 blocking {summary.blocking_failures}")

    def _import(self, slug, path, coverage, extra, quiet):
        if quiet:
            return import_layer(slug, path, imported_by="cli", coverage=coverage, **extra)
        with tqdm(desc=f"导入 {slug}", unit="要素", file=self.stderr._out) as bar:
            def progress(done, total):
                bar.total = total if total and total > 0 else None
                bar.update(done - bar.n)
            return import_layer(slug, path, imported_by="cli", coverage=coverage, on_progress=progress,
                                **extra)
