"""The steps of one attempt, each ending in its transition:

routing (quote both DEXes, pick the best), building (sign against a fresh blockhash),
submitted (send once, asking the network first), confirmed (the network landed it).
A step that cannot go on raises a ``DexError``; the execution decides about retries.
"""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal
from typing import Any, Protocol

from django.utils import timezone

from dex.errors import (
    InsufficientLiquidityError,
    SlippageExceededError,
    TransactionLostError,
)
from dex.network import TxStatus
from dex.tokens import get_token
from orders.gateway import DexGateway
from orders.models import Order
from orders.quoting import route_now
from orders.services.routing_record import order_min_out, routing_move

logger = logging.getLogger(__name__)

Status = Order.Status


class Execution(Protocol):
    """What a step needs from the delivery running it (``execution.Execution``)."""

    order: Order
    dex: DexGateway
    pending_dex_ms: float

    @property
    def log_extra(self) -> dict[str, str]: ...

    def move(self, to: str, **kwargs: Any) -> None: ...

    def keep_lease(self) -> None: ...

    def pause(self, seconds: float) -> None: ...


def route(execution: Execution) -> None:
    """Quote both DEXes, pick the better fill, and start an attempt."""
    order = execution.order
    if order.next_attempt_at is not None:
        wait = (order.next_attempt_at - timezone.now()).total_seconds()
        if wait > 0:
            execution.pause(wait)
    execution.keep_lease()
    started = time.time()
    best = route_now(
        dex=execution.dex,
        token_in=order.token_in,
        token_out=order.token_out,
        amount=order.amount_in.quantize(get_token(order.token_in).unit),
    )
    quote_ms = (time.time() - started) * 1000
    min_out = order_min_out(order, best)
    if best.out_amount < min_out:
        # Only a limit's minimum can exceed the quote: it rests again (execution.py).
        raise SlippageExceededError(
            f"best quote {best.out_amount} {order.token_out} is below the limit's minimum {min_out}"
        )
    changes, event = routing_move(order, best, quote_ms=quote_ms, started=started)
    logger.info(
        "order %s attempt %s routed to %s: %s",
        order.public_id,
        changes["attempts"],
        best.dex,
        json.dumps({"reason": best.reason, "quotes": event["quotes"]}),
        extra=execution.log_extra,
    )
    execution.move(Status.ROUTING, changes=changes, event=event)


def build(execution: Execution) -> None:
    """Sign the swap against a fresh blockhash (local; nothing is sent)."""
    order = execution.order
    chosen = order.route or {}
    network = execution.dex.network
    blockhash = network.recent_blockhash()
    tx = network.sign_swap(
        order_id=str(order.public_id),
        attempt=order.attempts,
        dex=chosen["dex"],
        pool=chosen["pool"],
        token_in=order.token_in,
        token_out=order.token_out,
        amount_in=order.amount_in,
        min_amount_out=order.min_amount_out or Decimal(0),
        blockhash=blockhash,
        legs=chosen.get("legs"),
    )
    execution.move(
        Status.BUILDING,
        changes={"signed_tx": tx},
        event={
            "details": {
                "signature": tx["signature"],
                "recentBlockhash": blockhash.hash,
                "lastValidAt": blockhash.last_valid_at,
                "minAmountOut": tx["minAmountOut"],
            }
        },
    )


def submit(execution: Execution) -> None:
    """Send the signed transaction once: a redelivery asks the network first."""
    order = execution.order
    tx = dict(order.signed_tx or {})
    network = execution.dex.network
    known = network.status(tx["signature"])
    now = time.time()
    if known.state == "unknown":
        receipt = network.submit(tx, now=now)
        lands_at = receipt.lands_at
    else:
        lands_at = known.lands_at or now
    tx.update({"submittedAt": now, "landsAt": lands_at})
    execution.move(
        Status.SUBMITTED,
        changes={"signed_tx": tx, "tx_hash": tx["signature"]},
        event={
            "tx_hash": tx["signature"],
            "details": {"landsInMs": round((lands_at - now) * 1000, 3), "landsAt": lands_at},
        },
    )


def await_landing(execution: Execution) -> None:
    """Wait for the network to land the transaction, then record the fill."""
    status = wait_for_network(execution, rebroadcast=True)
    record_landing(execution, status)


def wait_for_network(execution: Execution, *, rebroadcast: bool) -> TxStatus:
    """Poll the network about the stored transaction until it has landed.

    With ``rebroadcast`` a transaction the network lost is sent again as it is (never
    re-signed: at most one can land); without it, ``unknown`` is an answer.
    """
    tx = execution.order.signed_tx or {}
    network = execution.dex.network
    signature = tx["signature"]
    while True:
        status = network.status(signature)
        if status.state == "pending":
            execution.pause(max(0.005, (status.lands_at or 0) - time.time()))
            continue
        if status.state == "unknown" and rebroadcast:
            # The network lost it (e.g. its store restarted) or never got it.
            if not network.blockhash_valid(tx):
                raise TransactionLostError(
                    f"transaction {signature[:12]}… never landed and its blockhash expired"
                )
            network.submit(tx)
            continue
        return status


def record_landing(execution: Execution, status: TxStatus) -> None:
    """Confirm the fill, or raise the failure the network reported for it."""
    order = execution.order
    tx = order.signed_tx or {}
    signature = tx["signature"]
    execute_ms = max(0.0, (status.lands_at or 0) - float(tx.get("submittedAt", 0))) * 1000
    execution.pending_dex_ms = execute_ms  # recorded with the outcome below
    if status.state == "failed":
        if status.failure == "slippage":
            raise SlippageExceededError(status.error or "slippage exceeded")
        raise InsufficientLiquidityError(status.error or "the pool cannot fill the order")
    execution.move(
        Status.CONFIRMED,
        changes={
            "amount_out": status.amount_out,
            "executed_price": status.executed_price,
            "tx_hash": signature,
            "error": None,
            "dex_time_ms": order.dex_time_ms + execute_ms,
        },
        event={
            "amount_out": status.amount_out,
            "executed_price": status.executed_price,
            "tx_hash": signature,
            "details": {"executeMs": round(execute_ms, 3)},
        },
    )
    logger.info(
        "order %s confirmed on %s: %s %s, tx %s",
        order.public_id,
        order.dex,
        status.amount_out,
        order.token_out,
        signature,
        extra=execution.log_extra,
    )
