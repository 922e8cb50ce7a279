"""Read-only order history for operators: filters, the route side by side, CSV export."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path

from orders.admin.display import at_precision, duration, ms_time, route_table
from orders.admin.export import csv_response
from orders.models import Order, OrderEvent


class ReadOnlyPermissions:
    """History is written by the engine alone: operators review it, never edit it."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PairFilter(admin.SimpleListFilter):
    title = "pair"
    parameter_name = "pair"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        pairs = Order.objects.values_list("token_in", "token_out").distinct().order_by()
        return sorted((f"{a}-{b}", f"{a} → {b}") for a, b in pairs)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        value = self.value()
        if not value or "-" not in value:
            return queryset
        token_in, token_out = value.split("-", 1)
        return queryset.filter(token_in=token_in, token_out=token_out)


class OrderEventInline(ReadOnlyPermissions, admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    ordering = ["seq"]
    fields = ("seq", "status", "at_ms", "time_in_status", "attempt", "dex", "tx_hash", "error")
    readonly_fields = fields

    @admin.display(description="at")
    def at_ms(self, event: OrderEvent) -> str:
        return ms_time(event.at)

    @admin.display(description="time in status")
    def time_in_status(self, event: OrderEvent) -> str:
        following = (
            OrderEvent.objects.filter(order_id=event.order_id, seq=event.seq + 1)
            .values_list("at", flat=True)
            .first()
        )
        if following is None:
            return "—" if event.status in Order.TERMINAL else "still here"
        return duration((following - event.at).total_seconds() * 1000)


@admin.register(Order)
class OrderAdmin(ReadOnlyPermissions, admin.ModelAdmin):
    change_list_template = "admin/orders/order/change_list.html"
    list_display = [
        "public_id",
        "created_ms",
        "order_type",
        "pair",
        "amount_in_shown",
        "status",
        "dex",
        "amount_out_shown",
        "attempts",
    ]
    list_filter = ["order_type", "status", "dex", PairFilter, "created_at"]
    search_fields = ["=public_id", "=tx_hash"]
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = [OrderEventInline]
    fieldsets = [
        (None, {"fields": ["public_id", "order_type", "status", "pair", "error"]}),
        (
            "Amounts",
            {
                "fields": [
                    "amount_in_shown",
                    "amount_out_shown",
                    "min_out_shown",
                    "executed_price",
                    "slippage_bps",
                    "limit_price",
                    "stop_price",
                ]
            },
        ),
        ("Route", {"fields": ["route_shown", "tx_hash", "attempts", "dex_time_ms"]}),
        ("Times", {"fields": ["created_ms", "updated_ms", "finished_ms", "expires_ms"]}),
    ]
    readonly_fields = [
        "public_id",
        "order_type",
        "status",
        "pair",
        "error",
        "amount_in_shown",
        "amount_out_shown",
        "min_out_shown",
        "executed_price",
        "slippage_bps",
        "limit_price",
        "stop_price",
        "route_shown",
        "tx_hash",
        "attempts",
        "dex_time_ms",
        "created_ms",
        "updated_ms",
        "finished_ms",
        "expires_ms",
    ]

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_csv),
            name="orders_order_export",
        )
        return [export, *super().get_urls()]

    def export_csv(self, request: HttpRequest) -> HttpResponseBase:
        """The changelist's own queryset: the same filters, search and date drill-down."""
        changelist = self.get_changelist_instance(request)
        return csv_response(changelist.get_queryset(request))

    @admin.display(description="pair", ordering="token_in")
    def pair(self, order: Order) -> str:
        return f"{order.token_in} → {order.token_out}"

    @admin.display(description="amount in", ordering="amount_in")
    def amount_in_shown(self, order: Order) -> str:
        return f"{at_precision(order.amount_in, order.token_in)} {order.token_in}"

    @admin.display(description="amount out", ordering="amount_out")
    def amount_out_shown(self, order: Order) -> str:
        if order.amount_out is None:
            return "—"
        return f"{at_precision(order.amount_out, order.token_out)} {order.token_out}"

    @admin.display(description="minimum out")
    def min_out_shown(self, order: Order) -> str:
        return at_precision(order.min_amount_out, order.token_out)

    @admin.display(description="route: each DEX's quote")
    def route_shown(self, order: Order) -> str:
        return route_table(order.route)

    @admin.display(description="created", ordering="created_at")
    def created_ms(self, order: Order) -> str:
        return ms_time(order.created_at)

    @admin.display(description="updated")
    def updated_ms(self, order: Order) -> str:
        return ms_time(order.updated_at)

    @admin.display(description="finished")
    def finished_ms(self, order: Order) -> str:
        return ms_time(order.finished_at)

    @admin.display(description="expires")
    def expires_ms(self, order: Order) -> str:
        return ms_time(order.expires_at)
