"""`manage.py run_worker`: run queued background checks (started by `make run`)."""

from django.core.management.base import BaseCommand

from compliance.jobs import work


class Command(BaseCommand):
    help = "运行后台检查任务 (run queued background checks)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="stop when the queue is empty")
        parser.add_argument("--poll", type=float, default=1.0, help="seconds between polls when idle")

    def handle(self, *args, once=False, poll=1.0, **options):
        work(poll_seconds=poll, once=once)
