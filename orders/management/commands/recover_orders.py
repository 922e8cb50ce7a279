"""Show and re-queue orders stuck in a non-terminal state (the sweep beat runs)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orders import services


class Command(BaseCommand):
    help = "Re-queue orders with no progress for --stuck-after seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stuck-after",
            type=float,
            default=None,
            help="seconds without a transition (default: ORDER_STUCK_AFTER_S)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = services.orders_recover_stuck(stuck_after_s=options["stuck_after"])
        for label, ids in (
            ("pending", report.requeued_pending),
            ("in flight", report.requeued_in_flight),
            ("awaiting retry", report.requeued_retries),
        ):
            self.stdout.write(f"{label}: {len(ids)} re-queued")
            for order_id in ids:
                self.stdout.write(f"  {order_id}")
        self.stdout.write(self.style.SUCCESS(f"{report.total} orders re-queued"))
