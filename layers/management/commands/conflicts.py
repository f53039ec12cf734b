"""`manage.py conflicts`: the 多规合一 conflict areas per county; recompute or export them."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from blueprint.errors import BlueprintError
from layers import conflicts
from layers.models import ConflictRule


class Command(BaseCommand):
    requires_system_checks: list = []
    help = "多规合一冲突图斑：分县面积，重新计算或导出 (conflict areas per county; recompute, export)."

    def add_arguments(self, parser):
        parser.add_argument("--rule", action="append", help="a conflict rule slug (repeatable)")
        parser.add_argument("--county", action="append", help="a county code (repeatable)")
        parser.add_argument("--recompute", action="store_true", help="recompute from the active versions")
        parser.add_argument("--out", help="export one rule's patches to a .gpkg or .geojson file")

    def handle(self, *args, rule, county, recompute, out, **options):
        conflicts.ensure_default_rules()
        rules = ConflictRule.objects.filter(enabled=True)
        if rule:
            rules = rules.filter(slug__in=rule)
        try:
            if recompute:
                for item in rules:
                    self.stdout.write(f"{item.slug}: {conflicts.recompute(item)} 个冲突图斑 patches")
            if out:
                if len(rules) != 1:
                    raise CommandError("导出时请用 --rule 指定一个冲突类型。 (Name one --rule to export.)")
                conflicts.write_patches(Path(out), rule=rules[0], counties=county,
                                        fmt=Path(out).suffix.lstrip(".").lower())
        except BlueprintError as exc:
            raise CommandError(exc.detail) from exc
        for row in conflicts.conflict_areas_by_county(rules=[r.slug for r in rules], counties=county):
            area = row.area
            self.stdout.write(f"  {row.rule} {row.code} {row.name}: {row.patches} 个, {area['mu']:.2f} 亩,"
                              f" {area['hectare']:.4f} 公顷")
