"""The order list as CSV, exactly as filtered on the admin page."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from orders.admin.display import at_precision, ms_time
from orders.models import Order

COLUMNS = (
    "orderId",
    "createdAt",
    "finishedAt",
    "orderType",
    "status",
    "tokenIn",
    "tokenOut",
    "amountIn",
    "amountOut",
    "executedPrice",
    "limitPrice",
    "stopPrice",
    "expiresAt",
    "dex",
    "attempts",
    "txHash",
    "error",
)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _row(order: Order) -> list[str]:
    return [
        str(order.public_id),
        ms_time(order.created_at),
        ms_time(order.finished_at) if order.finished_at else "",
        order.order_type,
        order.status,
        order.token_in,
        order.token_out,
        at_precision(order.amount_in, order.token_in),
        at_precision(order.amount_out, order.token_out) if order.amount_out is not None else "",
        format(order.executed_price.normalize(), "f") if order.executed_price is not None else "",
        format(order.limit_price.normalize(), "f") if order.limit_price is not None else "",
        format(order.stop_price.normalize(), "f") if order.stop_price is not None else "",
        ms_time(order.expires_at) if order.expires_at else "",
        order.dex,
        str(order.attempts),
        order.tx_hash or "",
        order.error or "",
    ]


def csv_lines(orders: Iterable[Order]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for order in orders:
        yield writer.writerow(_row(order))


def csv_response(orders: QuerySet[Order]) -> StreamingHttpResponse:
    """Streamed, so a long history never sits in memory."""
    response = StreamingHttpResponse(
        csv_lines(orders.iterator(chunk_size=2000)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="orders.csv"'
    return response
