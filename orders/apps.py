from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # The composition root: services get the Celery queue without importing the tasks.
        from orders.celery_queue import CeleryOrderQueue
        from orders.services.order_queue import use_order_queue

        use_order_queue(CeleryOrderQueue())
