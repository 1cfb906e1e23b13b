"""Writes every upload that ended in the last N minutes to the database
(MediaUpload, KeepMedia): catches what the worker's end hook missed when a
worker crashed between the library's record and the hook. Run it
periodically (cron, a systemd timer) with a window that overlaps the
previous run."""

import datetime

from django.core.management.base import BaseCommand

from keeps import services


class Command(BaseCommand):
    help = "Apply the uploads that ended in the last --minutes (default 60) to the database."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--minutes", type=float, default=60.0)

    def handle(self, *args, **options) -> None:
        since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=options["minutes"])
        n = services.reconcile(since)
        self.stdout.write(f"reconciled {n} uploads ended since {since.isoformat()}")
