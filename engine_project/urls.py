from django.contrib import admin
from django.urls import include, path

from orders.health import healthz, livez

admin.site.site_header = "Order execution engine"
admin.site.site_title = "Order engine admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("", include("orders.urls")),
]
