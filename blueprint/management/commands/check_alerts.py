"""`manage.py check_alerts`: evaluate the alert rules once (run it from cron beside the queue's
periodic task: it also notices, and reports, a database that is down)."""

from django.core.management.base import BaseCommand

from blueprint.ops import alerts


class Command(BaseCommand):
    help = "Evaluate the alert rules once; send new and resolved alerts by e-mail and webhook."

    def handle(self, *args, **options):
        open_alerts = alerts.check()
        if open_alerts is None:
            self.stdout.write("database_unreachable")
            return
        for alert in open_alerts:
            self.stdout.write(f"{alert.kind}\t{alert.message}")
