"""`manage.py version_diff <slug> <from> <to>`: what changed between two versions, per county."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from blueprint.errors import BlueprintError
from layers import crs
from layers.diffs import diff_versions, write_diff
from layers.versions import get_version


class Command(BaseCommand):
    requires_system_checks: list = []
    help = "比较图层的两个版本：新增、删除、修改的要素及分县面积 (diff two layer versions)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("before", type=int)
        parser.add_argument("after", type=int)
        parser.add_argument("--county", action="append", help="limit to a county code (repeatable)")
        parser.add_argument("--out", help="write the changed features to a .gpkg or .geojson file")

    def handle(self, *args, slug, before, after, county, out, **options):
        try:
            layer, old = get_version(slug, before)
            _, new = get_version(slug, after)
            diff = diff_versions(layer, old, new, counties=county)
            if out:
                write_diff(diff, Path(out), Path(out).suffix.lstrip(".").lower())
        except BlueprintError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"{slug} v{before} → v{after} ({diff.matched_by}): "
                          f"新增 added {diff.count('added')}, 删除 removed {diff.count('removed')}, "
                          f"修改 changed {diff.count('changed')}")
        if diff.note:
            self.stdout.write(diff.note)
        for c in diff.counties:
            self.stdout.write(
                f"  {c.code} {c.name}: +{c.added} ({crs.area_units(c.added_m2)['mu']:.2f} 亩), "
                f"-{c.removed} ({crs.area_units(c.removed_m2)['mu']:.2f} 亩), ~{c.changed}, "
                f"净变化 net {crs.area_units(c.net_m2)['mu']:.2f} 亩")
        if out:
            self.stdout.write(self.style.SUCCESS(f"已写出 written: {out}"))
