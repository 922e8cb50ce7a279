from django.urls import path

from orders.consumers.feed import OrderFeedConsumer
from orders.consumers.order_stream import OrderExecuteConsumer, OrderStatusConsumer

websocket_urlpatterns = [
    path("api/orders/execute", OrderExecuteConsumer.as_asgi()),
    path("api/orders/stream", OrderFeedConsumer.as_asgi()),
    path("api/orders/status/<str:order_id>", OrderStatusConsumer.as_asgi()),
]
