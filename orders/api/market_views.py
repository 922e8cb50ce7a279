"""HTTP doors onto the market: quotes (what an order would get now) and the tokens."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dex.errors import DexError
from orders.api import schema
from orders.api.serializers import validate_order_body
from orders.api.throttles import QuoteThrottle
from orders.quoting import quote_best, token_list

_INTEGER = re.compile(r"[0-9]{1,9}\Z")


def query_as_body(params: Any) -> dict[str, Any]:
    """The query string as an order body: each parameter once, ``slippageBps`` an integer.

    Held to the body's rules (``validate_order_body``), so a quote refuses exactly what
    an order would.
    """
    body: dict[str, Any] = {}
    repeated: dict[str, list[str]] = {}
    for name in params:
        values = params.getlist(name)
        if len(values) != 1:
            repeated[name] = ["given more than once"]
            continue
        body[name] = values[0]
    if repeated:
        raise ValidationError(repeated)
    slippage = body.get("slippageBps")
    if isinstance(slippage, str) and _INTEGER.match(slippage):
        body["slippageBps"] = int(slippage)
    return body


class QuoteView(APIView):
    throttle_classes = [QuoteThrottle]

    @extend_schema(
        operation_id="get_quote",
        summary="What an order would get now, without placing one",
        description=(
            "Both DEXes' quotes and the router's choice at this size, net of fees and "
            "price impact. `price` is outAmount / inAmount: the executable price. The same "
            "validation and 400s as the order body."
        ),
        parameters=[
            OpenApiParameter("tokenIn", str, required=True, description="symbol to sell"),
            OpenApiParameter("tokenOut", str, required=True, description="symbol to buy"),
            OpenApiParameter("amount", str, required=True, description="decimal string"),
            OpenApiParameter("slippageBps", int, required=False, description="1..5000, default 50"),
        ],
        responses={200: schema.QuoteAnswerSchema, 400: schema.BAD_ORDER, 429: schema.TOO_MANY},
    )
    def get(self, request: Request) -> Response:
        fields, errors = validate_order_body(query_as_body(request.query_params))
        if errors is not None:
            raise ValidationError(errors)
        assert fields is not None
        try:
            answer = quote_best(
                token_in=fields["token_in"],
                token_out=fields["token_out"],
                amount=fields["amount"],
                slippage_bps=fields["slippage_bps"],
            )
        except DexError as exc:
            if exc.transient:
                return Response(
                    {"error": f"no DEX could quote right now: {exc}"},
                    status=status.HTTP_503_SERVICE_UNAVAILABLE,
                    headers={"Retry-After": "1"},
                )
            raise ValidationError({"amount": [str(exc)]}) from None
        return Response(answer)


class TokenListView(APIView):
    @extend_schema(
        operation_id="list_tokens",
        summary="Every token: symbol, decimals, mint, and whether any DEX trades it",
        responses={200: OpenApiResponse(schema.TokenSchema(many=True))},
    )
    def get(self, request: Request) -> Response:
        return Response(token_list())
