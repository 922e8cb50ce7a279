"""A mock Solana-like network: sign a swap, submit it once, ask later whether it landed.

Its state lives in Redis, shared by every worker, so a worker that restarts (or a task
delivered twice) asks about the transaction it already sent instead of sending a new
one. Submission is idempotent by signature, and the signature is a pure function of the
order, the attempt and the blockhash: re-signing the same attempt yields the same
transaction, never a second swap.

Outcomes are deterministic given the seed: the failure draw and the landing latency come
from the signature, the fill from the simulated market at the moment the transaction
lands. Any process computes the same answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, cast

import redis

from dex.errors import (
    BlockhashExpiredError,
    DexError,
    InsufficientLiquidityError,
    NetworkError,
)
from dex.market import deterministic_uniform
from dex.quotes import significant
from dex.router import split_input
from dex.venues import SimulatedDex

SLOT_SECONDS = 0.4
TX_TTL_S = 24 * 3600
_KEY = "dexnet:tx:{}"
_ORDER_KEY = "dexnet:order:{}"
_SEED_KEY = "dexnet:seed"
# Share of transient submission failures that are expired blockhashes (the rest are
# RPC errors): both are retried with a fresh quote.
_EXPIRED_SHARE = 0.25

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(raw: bytes) -> str:
    number = int.from_bytes(raw, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    leading = len(raw) - len(raw.lstrip(b"\0"))
    return "1" * leading + out


def _digest(*parts: object, size: int) -> bytes:
    text = ":".join(str(part) for part in parts)
    return hashlib.blake2b(text.encode(), digest_size=size).digest()


@dataclass(frozen=True)
class Blockhash:
    hash: str
    slot: int
    last_valid_at: float


@dataclass(frozen=True)
class SubmitReceipt:
    signature: str
    lands_at: float
    # False when the network already had this transaction (a rebroadcast).
    accepted_now: bool


@dataclass(frozen=True)
class TxStatus:
    state: Literal["unknown", "pending", "confirmed", "failed"]
    lands_at: float | None = None
    amount_out: Decimal | None = None
    executed_price: Decimal | None = None
    error: str | None = None
    failure: str | None = None  # "slippage" | "liquidity" for a failed fill


def resolve_seed(client: redis.Redis, configured: int | None) -> int:
    """The configured seed, or one shared by every process through Redis."""
    if configured is not None:
        return configured
    client.set(_SEED_KEY, random.SystemRandom().randrange(2**31), nx=True)
    value = cast(bytes | None, client.get(_SEED_KEY))
    return int(value) if value is not None else 0


class MockNetwork:
    def __init__(
        self,
        *,
        client: redis.Redis,
        seed: int,
        venues: dict[str, SimulatedDex],
        failure_rate: float,
        execute_latency_s: tuple[float, float],
        blockhash_ttl_s: float,
    ) -> None:
        self.client = client
        self.seed = seed
        self.venues = venues
        self.failure_rate = failure_rate
        self.execute_latency_s = execute_latency_s
        self.blockhash_ttl_s = blockhash_ttl_s

    # --- blockhashes -----------------------------------------------------------------
    def _blockhash_for_slot(self, slot: int) -> str:
        return b58encode(_digest(self.seed, "slot", slot, size=32))

    def recent_blockhash(self, *, now: float | None = None) -> Blockhash:
        now = time.time() if now is None else now
        slot = int(now / SLOT_SECONDS)
        return Blockhash(
            hash=self._blockhash_for_slot(slot),
            slot=slot,
            last_valid_at=slot * SLOT_SECONDS + self.blockhash_ttl_s,
        )

    def blockhash_valid(self, tx: dict[str, Any], *, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        slot = int(tx["slot"])
        authentic = tx["recentBlockhash"] == self._blockhash_for_slot(slot)
        return authentic and now <= slot * SLOT_SECONDS + self.blockhash_ttl_s

    # --- signing and submission ------------------------------------------------------
    def sign_swap(
        self,
        *,
        order_id: str,
        attempt: int,
        dex: str,
        pool: str,
        token_in: str,
        token_out: str,
        amount_in: Decimal,
        min_amount_out: Decimal,
        blockhash: Blockhash,
        legs: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A signed swap transaction. Same order, attempt and blockhash: same signature.

        ``legs`` (a split or a hop: ``{hop, percent, dex, pool, tokenIn, tokenOut}``) all
        go in the one transaction: they land together or not at all, and the minimum
        bounds their total output.
        """
        signature = b58encode(_digest(self.seed, "sig", order_id, attempt, blockhash.hash, size=64))
        tx = {
            "signature": signature,
            "recentBlockhash": blockhash.hash,
            "slot": blockhash.slot,
            "lastValidAt": blockhash.last_valid_at,
            "orderId": order_id,
            "attempt": attempt,
            "dex": dex,
            "pool": pool,
            "tokenIn": token_in,
            "tokenOut": token_out,
            "amountIn": str(amount_in),
            "minAmountOut": str(min_amount_out),
        }
        if legs:
            tx["legs"] = legs
        return tx

    def submit(self, tx: dict[str, Any], *, now: float | None = None) -> SubmitReceipt:
        """Send a signed transaction. Sending the same one again changes nothing.

        One round trip for a new transaction: the record, stored only if absent, and the
        order's set of signatures go in one pipeline (adding a signature the set already
        holds changes nothing), and only a transaction sent before is read back.
        """
        now = time.time() if now is None else now
        signature = tx["signature"]
        if not self.blockhash_valid(tx, now=now):
            # A transaction accepted before its blockhash expired is still the network's.
            existing = self._load(signature)
            if existing is not None:
                return SubmitReceipt(signature, float(existing["landsAt"]), accepted_now=False)
            raise BlockhashExpiredError(f"blockhash {tx['recentBlockhash'][:8]}… expired")
        # The draws depend on the signature alone: a send that fails here fails every
        # time, so such a transaction is never stored.
        draw = deterministic_uniform(self.seed, "submit", signature)
        if draw < self.failure_rate:
            if draw < self.failure_rate * _EXPIRED_SHARE:
                raise BlockhashExpiredError("blockhash not found by the RPC node")
            raise NetworkError("RPC node unavailable (503)")
        low, high = self.execute_latency_s
        latency = low + (high - low) * deterministic_uniform(self.seed, "lat", signature)
        record = {"tx": tx, "submittedAt": now, "landsAt": now + latency}
        order_key = _ORDER_KEY.format(tx["orderId"])
        pipe = self.client.pipeline(transaction=False)
        pipe.set(_KEY.format(signature), json.dumps(record), nx=True, ex=TX_TTL_S)
        pipe.sadd(order_key, signature)
        pipe.expire(order_key, TX_TTL_S)
        stored, _, _ = pipe.execute()
        if not stored:  # sent before (a redelivery, or another process a moment ago)
            existing = self._load(signature)
            assert existing is not None
            return SubmitReceipt(signature, float(existing["landsAt"]), accepted_now=False)
        return SubmitReceipt(signature, now + latency, accepted_now=True)

    def status(self, signature: str, *, now: float | None = None) -> TxStatus:
        now = time.time() if now is None else now
        record = self._load(signature)
        if record is None:
            return TxStatus("unknown")
        lands_at = float(record["landsAt"])
        if now < lands_at:
            return TxStatus("pending", lands_at=lands_at)
        return self._outcome(record["tx"], lands_at)

    def _outcome(self, tx: dict[str, Any], lands_at: float) -> TxStatus:
        """The fill at the moment the transaction lands: the market has moved since the quote."""
        amount_in = Decimal(tx["amountIn"])
        min_out = Decimal(tx["minAmountOut"])
        try:
            out = self._fill(tx, amount_in, lands_at)
        except DexError as exc:
            return TxStatus("failed", lands_at, error=str(exc), failure="liquidity")
        if out < min_out:
            return TxStatus(
                "failed",
                lands_at,
                error=(
                    f"slippage exceeded: fill {out} {tx['tokenOut']} is below the minimum {min_out}"
                ),
                failure="slippage",
            )
        return TxStatus(
            "confirmed",
            lands_at,
            amount_out=out,
            executed_price=significant(out / amount_in),
        )

    def _fill(self, tx: dict[str, Any], amount_in: Decimal, at: float) -> Decimal:
        """Every leg at ``at``, hop by hop: a hop's input is what the one before it gave."""
        legs = tx.get("legs") or [
            {
                "hop": 0,
                "percent": 100,
                "dex": tx["dex"],
                "tokenIn": tx["tokenIn"],
                "tokenOut": tx["tokenOut"],
            }
        ]
        amount = amount_in
        for hop in sorted({leg["hop"] for leg in legs}):
            hop_legs = [leg for leg in legs if leg["hop"] == hop]
            shares = split_input(
                amount, [leg["percent"] for leg in hop_legs], hop_legs[0]["tokenIn"]
            )
            amount = Decimal(0)
            for leg, share in zip(hop_legs, shares, strict=True):
                quote = self.venues[leg["dex"]].quote_at(
                    token_in=leg["tokenIn"], token_out=leg["tokenOut"], amount=share, t=at
                )
                if quote is None:
                    raise InsufficientLiquidityError(f"pool {leg.get('pool', leg['dex'])} closed")
                amount += quote.out_amount
        return amount

    def _load(self, signature: str) -> dict[str, Any] | None:
        raw = cast(bytes | None, self.client.get(_KEY.format(signature)))
        return json.loads(raw) if raw is not None else None

    def transaction_count(self, order_id: str) -> int:
        """How many transactions of this order the network accepted (audits and tests)."""
        return cast(int, self.client.scard(_ORDER_KEY.format(order_id)))
