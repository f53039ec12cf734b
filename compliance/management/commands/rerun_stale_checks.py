"""`manage.py rerun_stale_checks <slug>`: re-run the project checks a layer switch made stale."""

from django.core.management.base import BaseCommand

from compliance.impact import queue_reruns, rerun_if_stale, stale_checks


class Command(BaseCommand):
    requires_system_checks: list = []
    help = "重新检查因图层版本切换而过时的项目检查 (re-run checks made stale by a layer switch)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--now", action="store_true", help="run here instead of queueing for the workers")

    def handle(self, *args, slug, now, **options):
        if not now:
            self.stdout.write(f"已排队 queued {queue_reruns(slug, actor='cli')} 个重新检查 re-runs.")
            return
        done = [rerun_if_stale(str(check.pk), "cli") for check in stale_checks(slug)]
        self.stdout.write(f"已重新检查 re-ran {sum(1 for d in done if d)} 个检查 checks.")
