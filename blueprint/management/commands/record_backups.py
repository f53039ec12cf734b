"""`manage.py record_backups < info.json`: the repository's backups as Backup rows (scripts/backup.sh)."""

import json
import os
import sys

from django.core.management.base import BaseCommand, CommandError

from blueprint.backups import record


class Command(BaseCommand):
    help = "Record pgBackRest's backups (`pgbackrest info --output=json` on stdin) for the operator."

    def add_arguments(self, parser):
        parser.add_argument("--stanza", default=os.environ.get("BACKUP_STANZA", "blueprint"))

    def handle(self, *args, stanza: str, **options):
        try:
            info = json.load(sys.stdin)
        except json.JSONDecodeError as exc:
            raise CommandError(f"stdin is not pgbackrest info --output=json: {exc}") from exc
        count = record(info, stanza)
        self.stdout.write(f"{count} backups recorded (stanza {stanza})")
