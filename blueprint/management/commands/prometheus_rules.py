"""`manage.py prometheus_rules [--output FILE]`: the alert rule kinds as a Prometheus rules file."""

from pathlib import Path

from django.core.management.base import BaseCommand

from blueprint.ops import alerts

SHIPPED = Path(alerts.__file__).with_name("prometheus-rules.yaml")


class Command(BaseCommand):
    help = "Write the service's alert rules as a Prometheus rules file (default: the shipped copy)."

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(SHIPPED), help="where to write it ('-': standard output)")

    def handle(self, *args, output: str, **options):
        text = alerts.prometheus_rules_yaml()
        if output == "-":
            self.stdout.write(text, ending="")
        else:
            Path(output).write_text(text, encoding="utf-8")
            self.stdout.write(f"wrote {output}")
