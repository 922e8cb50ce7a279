"""Run the price monitor: trigger resting orders, expire them (``make run`` starts it)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from orders.gateway import default_gateway
from orders.monitor.loop import PriceMonitor
from orders.notifications import default_notifier
from orders.services.order_queue import default_order_queue


class Command(BaseCommand):
    help = (
        "Watch executable prices and pool launches; trigger limit, stop and sniper orders "
        "and expire them. Safe to run twice and to kill at any moment."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        monitor = PriceMonitor(
            gateway=default_gateway(), notifier=default_notifier(), queue=default_order_queue()
        )
        monitor.run(tick_s=settings.MONITOR_TICK_MS / 1000, stop=stop)
