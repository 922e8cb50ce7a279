from django.urls import path

from orders.api.views import OrderDetailView, OrderExecuteView, OrderListView

urlpatterns = [
    path("api/orders/execute", OrderExecuteView.as_view(), name="order-execute"),
    path("api/orders", OrderListView.as_view(), name="order-list"),
    path("api/orders/<str:order_id>", OrderDetailView.as_view(), name="order-detail"),
]
