from django.urls import path

from orders.api.market_control_views import MarketLaunchView, MarketMoveView
from orders.api.market_views import QuoteView, TokenListView
from orders.api.views import (
    OrderCancelView,
    OrderDetailView,
    OrderExecuteView,
    OrderListView,
    OrderStatsView,
)
from orders.views import index

urlpatterns = [
    path("", index, name="index"),
    path("api/orders/execute", OrderExecuteView.as_view(), name="order-execute"),
    path("api/orders/stats", OrderStatsView.as_view(), name="order-stats"),
    path("api/quote", QuoteView.as_view(), name="quote"),
    path("api/tokens", TokenListView.as_view(), name="token-list"),
    path("api/market/move", MarketMoveView.as_view(), name="market-move"),
    path("api/market/launch", MarketLaunchView.as_view(), name="market-launch"),
    path("api/orders", OrderListView.as_view(), name="order-list"),
    path("api/orders/<str:order_id>", OrderDetailView.as_view(), name="order-detail"),
    path("api/orders/<str:order_id>/cancel", OrderCancelView.as_view(), name="order-cancel"),
]
