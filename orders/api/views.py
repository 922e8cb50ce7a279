"""HTTP doors into the order services: validate, call a service, answer."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dex.tokens import UnknownTokenError, get_token
from orders import selectors
from orders.api import schema
from orders.api.errors import conflict
from orders.api.serializers import OrderRequestSerializer, validate_order_body
from orders.api.throttles import OrderSubmitThrottle
from orders.models import Order
from orders.payloads import order_detail, order_summary
from orders.services.creation import IdempotencyConflictError, order_create
from orders.services.resting import CancelConflictError, OrderNotFoundError, order_cancel

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}\Z")


class OrderExecuteView(APIView):
    throttle_classes = [OrderSubmitThrottle]

    @extend_schema(
        operation_id="execute_order",
        summary="Submit a market order",
        description=(
            "Stores the order and queues it before answering. Follow it at "
            "ws://HOST/api/orders/status/{orderId}, or open ws://HOST/api/orders/execute "
            "and send this body as the first message."
        ),
        request=OrderRequestSerializer,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.EXECUTE_RESPONSES,
        examples=[schema.ORDER_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not _IDEMPOTENCY_KEY.match(key):
            raise ValidationError(
                {"Idempotency-Key": ["must be 1-255 printable ASCII characters without spaces"]}
            )
        fields, errors = validate_order_body(request.data)
        if errors is not None:
            raise ValidationError(errors)
        assert fields is not None
        try:
            order, created = order_create(**fields, idempotency_key=key)
        except IdempotencyConflictError as exc:
            return conflict(str(exc), field="Idempotency-Key")
        headers = {"Location": f"/api/orders/{order.public_id}"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return Response(order_summary(order), status=status.HTTP_201_CREATED, headers=headers)


class OrderPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "pageSize"
    max_page_size = 500


class OrderListView(APIView):
    @extend_schema(
        operation_id="list_orders",
        summary="Order history, newest first",
        parameters=schema.LIST_PARAMETERS,
        responses={200: schema.OrderPageSchema, 400: schema.BAD_ORDER},
    )
    def get(self, request: Request) -> Response:
        filters = self._filters(request.query_params)
        orders = selectors.order_list(**filters)
        paginator = OrderPagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response([order_summary(order) for order in page or []])

    @staticmethod
    def _filters(params: Any) -> dict[str, str | None]:
        errors: dict[str, list[str]] = {}
        status_filter = params.get("status")
        if status_filter and status_filter not in Order.Status.values:
            errors["status"] = [f"must be one of {', '.join(Order.Status.values)}"]
        tokens: dict[str, str | None] = {}
        for param, name in (("tokenIn", "token_in"), ("tokenOut", "token_out")):
            value = params.get(param)
            if value:
                try:
                    get_token(value.upper())
                except UnknownTokenError:
                    errors[param] = [f"unsupported token {value!r}"]
            tokens[name] = value or None
        if errors:
            raise ValidationError(errors)
        return {"status": status_filter or None, **tokens}


class OrderDetailView(APIView):
    @extend_schema(
        operation_id="get_order",
        summary="One order with its routing decision and full event timeline",
        responses={
            200: schema.OrderDetailSchema,
            404: OpenApiResponse(schema.NotFoundSchema, description="unknown or malformed id"),
        },
    )
    def get(self, request: Request, order_id: str) -> Response:
        order = selectors.order_get(order_id=order_id)
        if order is None:
            return Response({"error": f"no order {order_id!r}"}, status=status.HTTP_404_NOT_FOUND)
        return Response(order_detail(order, selectors.order_events(order=order)))


class OrderCancelView(APIView):
    @extend_schema(
        operation_id="cancel_order",
        summary="Cancel an order that has not begun executing",
        description=(
            "While the order is pending or waiting it ends as cancelled (and the status "
            "stream closes with 1000). Cancelling an order already cancelled answers the "
            "same again. Once execution began, or the order ended otherwise (a trigger or "
            "an expiry got there first): 409 naming its status."
        ),
        request=None,
        responses={
            200: schema.OrderSummarySchema,
            404: OpenApiResponse(schema.NotFoundSchema, description="unknown or malformed id"),
            409: OpenApiResponse(schema.CancelConflictSchema, description="too late to cancel"),
        },
    )
    def post(self, request: Request, order_id: str) -> Response:
        try:
            order = order_cancel(order_id=order_id)
        except OrderNotFoundError:
            return Response({"error": f"no order {order_id!r}"}, status=status.HTTP_404_NOT_FOUND)
        except CancelConflictError as exc:
            message = f"the order is {exc.status}: only pending or waiting orders can be cancelled"
            return Response(
                {"errors": {"status": [message]}, "status": exc.status},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(order_summary(order))


class OrderStatsView(APIView):
    @extend_schema(
        operation_id="order_stats",
        summary="What executes now, what waits, what finished in the last minute",
        responses={200: schema.OrderStatsSchema},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.order_stats())
