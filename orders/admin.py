"""Read-only order history for operators."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from orders.models import Order, OrderEvent


class ReadOnlyPermissions:
    """History is written by the engine alone: operators review it, never edit it."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderEventInline(ReadOnlyPermissions, admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    ordering = ["seq"]
    fields = ("seq", "status", "at", "attempt", "dex", "amount_out", "tx_hash", "error", "details")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ReadOnlyPermissions, admin.ModelAdmin):
    list_display = [
        "public_id",
        "pair",
        "amount_in",
        "status",
        "dex",
        "amount_out",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "dex", "token_in", "token_out"]
    search_fields = ["=public_id", "=tx_hash"]
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = [OrderEventInline]
    readonly_fields = [field.name for field in Order._meta.fields]

    @admin.display(description="pair", ordering="token_in")
    def pair(self, order: Order) -> str:
        return f"{order.token_in} → {order.token_out}"
