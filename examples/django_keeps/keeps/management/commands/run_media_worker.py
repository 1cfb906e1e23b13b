"""Runs upload workers until interrupted (for sqlite/redis queues shared
with the web processes). Their end hook writes each ended upload to the
database (MediaUpload, KeepMedia), so nothing waits for a client to poll."""

import signal
import threading

from django.core.management.base import BaseCommand

from keeps import services


class Command(BaseCommand):
    help = "Process media uploads (libmediastore workers) until SIGINT/SIGTERM."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--threads", type=int, default=2)

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        services.start_worker(options["threads"])
        self.stdout.write(f"media worker running with {options['threads']} threads")
        stop.wait()
        services.stop_worker()
