"""`manage.py activate_version <slug> <number>`: switch a layer to any of its versions (a rollback
when it is an earlier one), after showing what the switch would change."""

from django.core.management.base import BaseCommand, CommandError

from blueprint.errors import BlueprintError
from layers.versions import activate_version, get_version, impact_of


class Command(BaseCommand):
    requires_system_checks: list = []
    help = "启用图层的某个版本（回滚），先显示影响 (activate a layer version, impact shown first)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("number", type=int, help="the version number to activate")
        parser.add_argument("--reason", default="", help="why (required for a rollback; audited)")
        parser.add_argument("--dry-run", action="store_true", help="show the impact only")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, slug, number, reason, dry_run, yes, **options):
        try:
            layer, version = get_version(slug, number)
            impact = impact_of(layer, version)
            for table in impact:
                self.stdout.write(self.style.MIGRATE_HEADING(table.title))
                self.stdout.write(table.summary)
                if table.rows:
                    self.stdout.write("  " + " | ".join(table.columns))
                for row in table.rows:
                    self.stdout.write("  " + " | ".join(str(cell) for cell in row))
            if dry_run:
                return
            if not yes and input(f"启用 {slug} 第 {number} 版？输入 yes 确认 (type yes): ").strip() != "yes":
                raise CommandError("未确认，未作改动。 (Not confirmed; nothing changed.)")
            activate_version(layer, version, actor="cli", reason=reason, impact=impact)
        except BlueprintError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(self.style.SUCCESS(
            f"{slug} 第 {number} 版已启用 (version {number} active); 过时的检查可用 "
            f"`rerun_stale_checks {slug}` 排队重新检查."))
