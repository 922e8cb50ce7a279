"""OpenAPI descriptions of the API's responses and errors (drf-spectacular).

The views build their JSON from ``orders.payloads``; these serializers only describe
those shapes for the schema, Swagger UI and the Postman collection.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from orders.models import Order

MONEY_HELP = "decimal string; never a JSON number"


class QuoteSchema(serializers.Serializer):
    dex = serializers.CharField()
    pool = serializers.CharField()
    inAmount = serializers.CharField(help_text=MONEY_HELP)
    outAmount = serializers.CharField(help_text=MONEY_HELP)
    minOutAmount = serializers.CharField(help_text="outAmount less the slippage tolerance")
    fee = serializers.CharField(help_text="fee paid, in the input token")
    feeBps = serializers.CharField()
    price = serializers.CharField(help_text="output per input received")
    midPrice = serializers.CharField(help_text="pool price before the trade")
    priceImpactPct = serializers.CharField()


class RouteSchema(serializers.Serializer):
    dex = serializers.CharField()
    pool = serializers.CharField()
    reason = serializers.CharField(help_text="why this DEX won, with both outputs")
    path = serializers.CharField(help_text='e.g. "wSOL -> USDC": native SOL moves as wSOL')
    wrappedSol = serializers.CharField(allow_null=True)
    minAmountOut = serializers.CharField()
    quotes = serializers.DictField(
        child=QuoteSchema(), help_text="each DEX's quote, or {error} if it could not quote"
    )


class RouteLegSchema(serializers.Serializer):
    dex = serializers.CharField()
    pool = serializers.CharField()
    percent = serializers.IntegerField(help_text="share of the order's input through this pool")
    inputToken = serializers.CharField()
    outputToken = serializers.CharField()
    inAmount = serializers.CharField(help_text=MONEY_HELP)
    outAmount = serializers.CharField(help_text=MONEY_HELP)
    feeAmount = serializers.CharField(help_text=MONEY_HELP)
    feeToken = serializers.CharField()


class QuoteAnswerSchema(serializers.Serializer):
    tokenIn = serializers.CharField()
    tokenOut = serializers.CharField()
    inAmount = serializers.CharField(help_text=MONEY_HELP)
    outAmount = serializers.CharField(help_text=MONEY_HELP)
    price = serializers.CharField(help_text="outAmount / inAmount: the executable price")
    minOutAmount = serializers.CharField(help_text="outAmount less the slippage tolerance")
    slippageBps = serializers.IntegerField()
    quotes = serializers.DictField(
        child=QuoteSchema(), help_text="each DEX's single-pool quote, or {error}"
    )
    routePlan = RouteLegSchema(
        many=True,
        help_text=(
            "the legs: one pool at 100 %, a split across both DEXes (percents add up to "
            "100), or a route through SOL or USDC (a second hop's legs)"
        ),
    )
    path = serializers.CharField(
        help_text='the tokens it passes through, e.g. "BONK -> wSOL -> JUP"'
    )
    reason = serializers.CharField(help_text="why this route won, and what a split or hop gained")
    wrappedSol = serializers.CharField(allow_null=True)


class TokenSchema(serializers.Serializer):
    symbol = serializers.CharField()
    decimals = serializers.IntegerField()
    mint = serializers.CharField()
    native = serializers.BooleanField(help_text="SOL: routed as wrapped SOL (wSOL)")
    maxAmount = serializers.CharField(help_text="the most one order may sell")
    trading = serializers.BooleanField(help_text="false while no DEX has a pool for it")


class OrderEventSchema(serializers.Serializer):
    orderId = serializers.UUIDField()
    seq = serializers.IntegerField(help_text="1, 2, 3… per order: no gaps, no repeats")
    status = serializers.ChoiceField(choices=Order.Status.choices)
    at = serializers.DateTimeField()
    attempt = serializers.IntegerField()
    dex = serializers.CharField(allow_null=True)
    quotes = serializers.DictField(child=QuoteSchema(), allow_null=True)
    amountOut = serializers.CharField(allow_null=True, help_text=MONEY_HELP)
    executedPrice = serializers.CharField(allow_null=True, help_text=MONEY_HELP)
    txHash = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    details = serializers.DictField(help_text="reason, path, timings, signature…")


class OrderSummarySchema(serializers.Serializer):
    orderId = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    tokenIn = serializers.CharField()
    tokenOut = serializers.CharField()
    amountIn = serializers.CharField(help_text=MONEY_HELP)
    slippageBps = serializers.IntegerField(allow_null=True, help_text="null for limit orders")
    orderType = serializers.ChoiceField(choices=Order.OrderType.choices)
    limitPrice = serializers.CharField(allow_null=True, help_text=MONEY_HELP)
    stopPrice = serializers.CharField(allow_null=True, help_text=MONEY_HELP)
    expiresAt = serializers.DateTimeField(allow_null=True, help_text="resting orders only")
    dex = serializers.CharField(allow_null=True)
    routeReason = serializers.CharField(allow_null=True)
    amountOut = serializers.CharField(allow_null=True, help_text=MONEY_HELP)
    minAmountOut = serializers.CharField(allow_null=True, help_text=MONEY_HELP)
    executedPrice = serializers.CharField(allow_null=True, help_text=MONEY_HELP)
    txHash = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    attempts = serializers.IntegerField()
    nextAttemptAt = serializers.DateTimeField(allow_null=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    finishedAt = serializers.DateTimeField(allow_null=True)
    lastSeq = serializers.IntegerField()
    statusUrl = serializers.CharField(help_text="WebSocket path of this order's live status")


class OrderDetailSchema(OrderSummarySchema):
    route = RouteSchema(allow_null=True)
    dexTimeMs = serializers.FloatField(help_text="time this order spent waiting on DEXes")
    events = OrderEventSchema(many=True)


class OrderPageSchema(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderSummarySchema(many=True)


class OrderStatsSchema(serializers.Serializer):
    executing = serializers.IntegerField()
    retrying = serializers.IntegerField()
    queued = serializers.IntegerField()
    waiting = serializers.IntegerField(help_text="resting orders waiting for their trigger")
    confirmedLastMinute = serializers.IntegerField()
    failedLastMinute = serializers.IntegerField()


class FieldErrorsSchema(serializers.Serializer):
    # A documentation-only serializer: the field deliberately shadows Serializer.errors.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="each bad field (or `body`, `pair`, `Idempotency-Key`) with its messages",
    )


class NotFoundSchema(serializers.Serializer):
    error = serializers.CharField()


class CancelConflictSchema(FieldErrorsSchema):
    status = serializers.ChoiceField(choices=Order.Status.choices)


ORDER_EXAMPLE = OpenApiExample(
    "SOL to USDC",
    value={"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5", "slippageBps": 50},
    request_only=True,
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Same key and body: the same order is returned (header Idempotent-Replayed: true) "
        "and executed once. Same key, different body: 409."
    ),
)
BAD_ORDER = OpenApiResponse(
    FieldErrorsSchema,
    description="invalid body; nothing stored or queued",
    examples=[
        OpenApiExample(
            "bad amount",
            value={"errors": {"amount": ["USDC has 6 decimals; 1.1234567 has more"]}},
        ),
        OpenApiExample(
            "unknown pair",
            value={"errors": {"pair": ["no pool for USDT/RAY on any DEX (unknown pair)"]}},
        ),
    ],
)
TOO_MANY = OpenApiResponse(FieldErrorsSchema, description="too many requests; see Retry-After")
EXECUTE_RESPONSES = {
    201: OpenApiResponse(OrderSummarySchema, description="stored and queued"),
    400: BAD_ORDER,
    409: OpenApiResponse(FieldErrorsSchema, description="Idempotency-Key reused with another body"),
    413: OpenApiResponse(FieldErrorsSchema, description="body larger than 16 KiB"),
    415: OpenApiResponse(FieldErrorsSchema, description="Content-Type is not application/json"),
    429: OpenApiResponse(FieldErrorsSchema, description="too many orders; see Retry-After"),
    503: OpenApiResponse(
        FieldErrorsSchema,
        description="PostgreSQL unreachable; retry after Retry-After with the same Idempotency-Key",
    ),
}
LIST_PARAMETERS = [
    OpenApiParameter("status", str, enum=Order.Status.values, description="only this status"),
    OpenApiParameter("tokenIn", str, description="symbol, case-insensitive"),
    OpenApiParameter("tokenOut", str, description="symbol, case-insensitive"),
    OpenApiParameter("page", int),
    OpenApiParameter("pageSize", int, description="1-500, default 50"),
]
