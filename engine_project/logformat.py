"""JSON log lines for production: one object per line, ``orderId`` when a line is about one."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # Fields passed with ``extra=`` (orderId, …) become top-level keys.
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class PlainFormatter(logging.Formatter):
    """Readable lines for development, with the order id up front when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        order_id = getattr(record, "orderId", None)
        return f"{line} [order {order_id}]" if order_id and order_id not in line else line
