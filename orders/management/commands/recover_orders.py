"""Show and re-queue orders nobody works on (the sweep beat runs every few seconds)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orders.services.recovery import orders_recover_stuck


class Command(BaseCommand):
    help = (
        "Re-queue orders in flight whose lease ran out or whose holder died on this host, "
        "overdue retries, and orders pending for --stuck-after seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stuck-after",
            type=float,
            default=None,
            help="seconds a pending order may wait unclaimed (default: ORDER_STUCK_AFTER_S)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = orders_recover_stuck(stuck_after_s=options["stuck_after"])
        for label, ids in (
            ("pending", report.requeued_pending),
            ("in flight", report.requeued_in_flight),
            ("awaiting retry", report.requeued_retries),
        ):
            self.stdout.write(f"{label}: {len(ids)} re-queued")
            for order_id in ids:
                self.stdout.write(f"  {order_id}")
        self.stdout.write(self.style.SUCCESS(f"{report.total} orders re-queued"))
