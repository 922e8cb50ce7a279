"""Order history in Django admin: behind a login, read-only, searchable, with the timeline."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from orders.services.execution import order_execute

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("ops", "ops@example.com", "a-long-passphrase")
    client.force_login(user)
    return client


def test_admin_requires_a_login(client):
    response = client.get("/admin/orders/order/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_order_list_shows_filters_and_searches_by_id_and_tx_hash(
    admin_client, make_order, make_gateway, recorder
):
    order = make_order()
    order_execute(order_pk=order.pk, notifier=recorder, dex=make_gateway())
    order.refresh_from_db()
    page = admin_client.get("/admin/orders/order/").content.decode()
    assert "SOL → USDC" in page and "confirmed" in page
    for term in (str(order.public_id), order.tx_hash, "not-a-uuid"):
        response = admin_client.get("/admin/orders/order/", {"q": term})
        assert response.status_code == 200
    found = admin_client.get("/admin/orders/order/", {"q": order.tx_hash}).content.decode()
    assert str(order.public_id) in found
    filtered = admin_client.get("/admin/orders/order/", {"status__exact": "failed"})
    assert str(order.public_id) not in filtered.content.decode()


def test_order_page_is_read_only_with_the_event_timeline(admin_client, make_order):
    order = make_order()
    response = admin_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "pending" in page and 'name="_save"' not in page
    assert admin_client.get("/admin/orders/order/add/").status_code == 403
