"""HTTP doors onto the simulated market's operator controls (``manage.py market``).

The page offers them so a demo can make triggers happen. Off when
``ENGINE_MARKET_CONTROLS`` is (the default in production): 403.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dex.venues import DEX_NAMES, RAYDIUM
from orders.api import schema
from orders.api.serializers import StrictStringField
from orders.api.throttles import MarketControlThrottle
from orders.services.market_controls import MarketControlError, market_launch, market_move


class _StrictBody(serializers.Serializer):
    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValidationError({"body": ["must be a JSON object"]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise ValidationError(
                {name: ["unknown field; allowed: " + ", ".join(self.fields)] for name in unknown}
            )
        return super().to_internal_value(data)


class MoveSerializer(_StrictBody):
    symbol = StrictStringField()
    percent = StrictStringField(help_text='decimal string, e.g. "5" or "-3.5"')


class LaunchSerializer(_StrictBody):
    symbol = StrictStringField()
    dex = serializers.ChoiceField(choices=DEX_NAMES, required=False, default=RAYDIUM)
    quote = StrictStringField(required=False, default="USDC")


class MarketChangedSchema(serializers.Serializer):
    changed = serializers.CharField(help_text="what changed, as `manage.py market` prints it")


def _controls_on() -> None:
    if not settings.MARKET_CONTROLS:
        raise PermissionDenied("market controls are off here (ENGINE_MARKET_CONTROLS)")


def _answer(action: Any) -> Response:
    try:
        said = action()
    except MarketControlError as exc:
        raise ValidationError({exc.field: [str(exc)]}) from None
    return Response({"changed": said}, status=status.HTTP_200_OK)


class MarketMoveView(APIView):
    throttle_classes = [MarketControlThrottle]

    @extend_schema(
        operation_id="market_move",
        summary="Move a token's price on every DEX (simulated market)",
        request=MoveSerializer,
        responses={
            200: MarketChangedSchema,
            400: schema.BAD_ORDER,
            403: OpenApiResponse(description="controls are off"),
        },
    )
    def post(self, request: Request) -> Response:
        _controls_on()
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        return _answer(lambda: market_move(symbol=values["symbol"], percent=values["percent"]))


class MarketLaunchView(APIView):
    throttle_classes = [MarketControlThrottle]

    @extend_schema(
        operation_id="market_launch",
        summary="Open a pool for a token with none yet (simulated market)",
        request=LaunchSerializer,
        responses={
            200: MarketChangedSchema,
            400: schema.BAD_ORDER,
            403: OpenApiResponse(description="controls are off"),
        },
    )
    def post(self, request: Request) -> Response:
        _controls_on()
        body = LaunchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        return _answer(
            lambda: market_launch(symbol=values["symbol"], dex=values["dex"], quote=values["quote"])
        )
