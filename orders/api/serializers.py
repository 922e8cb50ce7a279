"""Validation of order bodies, shared by the HTTP API and the execute WebSocket.

Strict on purpose: a trading API must not guess. Amounts are JSON numbers (parsed as
``Decimal`` by ``StrictJSONParser``) or plain decimal strings; ``"1_000"``, ``"1e3"``,
Arabic-Indic digits, booleans and floats are refused: DRF's ``DecimalField`` accepts
the first three as numbers (``"١٢٣"`` is 123), and a JSON float has lost digits before
DRF sees it (``1.0000000000000001`` is 1.0).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dex.tokens import UnknownTokenError, get_token, supported_symbols
from orders.api.parsers import loads_strict
from orders.gateway import default_gateway
from orders.models import Order

MIN_SLIPPAGE_BPS = 1
MAX_SLIPPAGE_BPS = 5000
DEFAULT_SLIPPAGE_BPS = 50
# Snipers buy into a pool that just opened: prices jump, so their default bound is wider.
DEFAULT_SNIPER_SLIPPAGE_BPS = 500
DEFAULT_EXPIRY = timedelta(hours=24)
MAX_EXPIRY = timedelta(days=30)
# Which of the resting-order fields each type takes.
_TYPE_FIELDS = {
    "market": set(),
    "limit": {"limitPrice", "expiresAt", "expiresInS"},
    "stop": {"stopPrice", "expiresAt", "expiresInS"},
    "sniper": {"expiresAt", "expiresInS"},
}
_RESTING_FIELDS = ("limitPrice", "stopPrice", "expiresAt", "expiresInS")
# ASCII digits only, optional fraction; no sign, exponent, underscores or spaces.
_DECIMAL_STRING = re.compile(r"[0-9]{1,30}(\.[0-9]{1,30})?\Z")
# The database stores NUMERIC(38, 18); no token has more than 9 decimals anyway.
_MAX_SCALE = 18


def fraction_digits(value: Decimal) -> int:
    """Decimal places that carry a non-zero digit, computed without rounding.

    ``Decimal.normalize()`` would round to the context's 28 digits and hide extra places.
    """
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing_zeros)


@extend_schema_field({"type": "string"})
class StrictStringField(serializers.Field):
    default_error_messages = {"invalid": "must be a string"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return data.strip()

    def to_representation(self, value: Any) -> str:
        return str(value)


@extend_schema_field(
    {
        "type": "string",
        "enum": supported_symbols(),
        "description": "token symbol, case-insensitive",
        "example": "SOL",
    }
)
class TokenField(StrictStringField):
    def to_internal_value(self, data: Any) -> str:
        symbol = super().to_internal_value(data)
        # ASCII first: str.upper() maps look-alikes (U+017F, long s) onto latin letters.
        symbol = symbol.upper() if symbol.isascii() else ""
        try:
            get_token(symbol)
        except UnknownTokenError:
            raise serializers.ValidationError(
                f"unsupported token {data!r}; supported: {', '.join(supported_symbols())}"
            ) from None
        return symbol


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": r"^[0-9]{1,30}(\.[0-9]{1,30})?$"},
            {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        ],
        "description": (
            "amount of tokenIn to sell: > 0, at most the token's decimals and its "
            "per-order maximum; a decimal string is recommended"
        ),
        "example": "1.5",
    }
)
class AmountField(serializers.Field):
    default_error_messages = {
        "invalid": 'must be a decimal number or a decimal string such as "1.5"',
        "positive": "must be greater than zero",
        "finite": "must be a finite number",
        "huge": "is far larger than any order can be",
        "scale": f"has more than {_MAX_SCALE} decimal places",
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            value = Decimal(data)
        elif isinstance(data, Decimal):
            value = data
        elif isinstance(data, str):
            if not _DECIMAL_STRING.match(data):
                self.fail("invalid")
            try:
                value = Decimal(data)
            except InvalidOperation:
                self.fail("invalid")
        else:
            self.fail("invalid")
        if not value.is_finite():
            self.fail("finite")
        if value <= 0:
            self.fail("positive")
        if value.adjusted() >= 20:
            self.fail("huge")
        if fraction_digits(value) > _MAX_SCALE:
            self.fail("scale")
        return value

    def to_representation(self, value: Any) -> str:
        return format(value, "f")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": r"^[0-9]{1,30}(\.[0-9]{1,30})?$"},
            {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        ],
        "description": "tokenOut per tokenIn, the executable price (net of fees and impact)",
        "example": "150",
    }
)
class PriceField(AmountField):
    """A price in the order's terms: held to the same exact-decimal rules as amounts."""


@extend_schema_field({"type": "string", "format": "date-time", "example": "2026-12-01T12:00:00Z"})
class ExpiryTimeField(serializers.Field):
    default_error_messages = {
        "invalid": "must be an ISO 8601 date and time, e.g. 2026-12-01T12:00:00Z",
        "zone": "must name its time zone (Z or +hh:mm)",
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str) or not 10 <= len(data) <= 40:
            self.fail("invalid")
        try:
            value = datetime.fromisoformat(data)
        except ValueError:
            self.fail("invalid")
        if value.tzinfo is None or value.utcoffset() is None:
            self.fail("zone")
        return value

    def to_representation(self, value: Any) -> str:
        return value.isoformat()


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "must be an integer"}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "enum": Order.OrderType.values, "default": "market"})
class OrderTypeField(StrictStringField):
    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in Order.OrderType.values:
            raise serializers.ValidationError(
                f"unsupported order type {data!r}; supported: {', '.join(Order.OrderType.values)}"
            )
        return value


class OrderRequestSerializer(serializers.Serializer):
    tokenIn = TokenField()
    tokenOut = TokenField()
    amount = AmountField()
    # Default by type (market and stop 50, sniper 500); a limit takes none.
    slippageBps = StrictIntegerField(
        required=False, min_value=MIN_SLIPPAGE_BPS, max_value=MAX_SLIPPAGE_BPS
    )
    orderType = OrderTypeField(required=False, default=Order.OrderType.MARKET)
    limitPrice = PriceField(required=False)
    stopPrice = PriceField(required=False)
    expiresAt = ExpiryTimeField(required=False)
    expiresInS = StrictIntegerField(
        required=False, min_value=1, max_value=int(MAX_EXPIRY.total_seconds())
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        str(name): ["unknown field; allowed: " + ", ".join(self.fields)]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        token_in, token_out = attrs["tokenIn"], attrs["tokenOut"]
        order_type = attrs["orderType"]
        if token_in == token_out:
            raise serializers.ValidationError({"tokenOut": ["must differ from tokenIn"]})
        self._validate_type_fields(attrs)
        gateway = default_gateway()
        if order_type == Order.OrderType.SNIPER:
            if gateway.trades(token_out):
                raise serializers.ValidationError(
                    {"tokenOut": [f"{token_out} already trades: a sniper waits for a new pool"]}
                )
            if not gateway.trades(token_in):
                raise serializers.ValidationError({"tokenIn": [f"{token_in} has no pool yet"]})
        elif not gateway.has_route(token_in, token_out):
            raise serializers.ValidationError(
                {
                    "pair": [
                        f"no pool for {token_in}/{token_out} on any DEX, nor a route through "
                        "SOL or USDC (unknown pair)"
                    ]
                }
            )
        token = get_token(token_in)
        amount: Decimal = attrs["amount"]
        if fraction_digits(amount) > token.decimals:
            raise serializers.ValidationError(
                {"amount": [f"{token_in} has {token.decimals} decimals; {amount} has more"]}
            )
        if amount > token.max_amount:
            raise serializers.ValidationError(
                {"amount": [f"at most {token.max_amount} {token_in} per order"]}
            )
        return attrs

    @staticmethod
    def _validate_type_fields(attrs: dict[str, Any]) -> None:
        """Each type's own fields, required where the type needs them, refused elsewhere."""
        order_type = attrs["orderType"]
        allowed = _TYPE_FIELDS[order_type]
        errors: dict[str, list[str]] = {}
        for name in _RESTING_FIELDS:
            if name in attrs and name not in allowed:
                errors[name] = [f"not allowed for {order_type} orders"]
        if order_type == Order.OrderType.LIMIT:
            if "slippageBps" in attrs:
                errors["slippageBps"] = ["not allowed for limit orders: limitPrice is the bound"]
            if "limitPrice" not in attrs:
                errors["limitPrice"] = ["required for limit orders"]
        if order_type == Order.OrderType.STOP and "stopPrice" not in attrs:
            errors["stopPrice"] = ["required for stop orders"]
        if "expiresAt" in attrs and "expiresInS" in attrs:
            errors["expiresInS"] = ["give expiresAt or expiresInS, not both"]
        if errors:
            raise serializers.ValidationError(errors)
        now = timezone.now()
        if "expiresAt" in attrs:
            expires_at: datetime = attrs["expiresAt"]
            if expires_at <= now:
                errors["expiresAt"] = ["must be in the future"]
            elif expires_at - now > MAX_EXPIRY:
                errors["expiresAt"] = [f"at most {MAX_EXPIRY.days} days ahead"]
        elif "expiresInS" in attrs:
            attrs["expiresAt"] = now + timedelta(seconds=attrs["expiresInS"])
        elif order_type != Order.OrderType.MARKET:
            attrs["expiresAt"] = now + DEFAULT_EXPIRY
        if errors:
            raise serializers.ValidationError(errors)
        if order_type == Order.OrderType.LIMIT:
            attrs["slippageBps"] = 0  # unused: the limit price sets the minimum output
        elif "slippageBps" not in attrs:
            attrs["slippageBps"] = (
                DEFAULT_SNIPER_SLIPPAGE_BPS
                if order_type == Order.OrderType.SNIPER
                else DEFAULT_SLIPPAGE_BPS
            )


def validate_order_body(data: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``(order fields, None)`` for a valid body, ``(None, field errors)`` otherwise."""
    serializer = OrderRequestSerializer(data=data)
    if not serializer.is_valid():
        return None, dict(serializer.errors)
    values = serializer.validated_data
    return {
        "token_in": values["tokenIn"],
        "token_out": values["tokenOut"],
        "amount": values["amount"],
        "slippage_bps": values["slippageBps"],
        "order_type": values["orderType"],
        "limit_price": values.get("limitPrice"),
        "stop_price": values.get("stopPrice"),
        "expires_at": values.get("expiresAt"),
    }, None


def validate_order_message(text: str | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The execute socket's first message, held to the POST body's rules (and size)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if text is None:
        return None, {"body": ["send the order as a JSON text message"]}
    if len(text) > limit:
        return None, {"body": [f"message larger than {limit} bytes"]}
    try:
        body = loads_strict(text)
    except (ValueError, RecursionError) as exc:
        return None, {"body": [f"not valid JSON: {exc}"]}
    return validate_order_body(body)
