"""Order history in Django admin: behind a login, read-only, searchable, with the timeline."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

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


def test_history_review_shows_precision_milliseconds_quotes_and_time_in_status(
    admin_client, make_order, make_gateway, recorder
):
    order = make_order(amount=Decimal("1.5"))
    order_execute(order_pk=order.pk, notifier=recorder, dex=make_gateway())
    order.refresh_from_db()
    listing = admin_client.get("/admin/orders/order/").content.decode()
    assert "1.500000000 SOL" in listing  # SOL's 9 decimals, not NUMERIC's 18
    assert re.search(r"\d\d:\d\d:\d\d\.\d{3}Z", listing)  # to the millisecond
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert 'class="route-quotes"' in page
    assert "raydium" in page and "meteora" in page and "★ winner" in page
    assert order.route["reason"].split(" ")[0] in page
    assert re.search(r"field-time_in_status\">\s*<p>[\d,]+ ms</p>", page)  # per status
    assert "still here" not in page  # confirmed: nothing is still running


def test_filters_by_type_and_pair_and_the_csv_is_the_filtered_list(admin_client, make_order):
    market = make_order(token_in="SOL", token_out="USDC")
    limit = make_order(
        token_in="SOL",
        token_out="USDC",
        order_type="limit",
        limit_price=Decimal("99999"),
        slippage_bps=0,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    other_pair = make_order(token_in="USDC", token_out="SOL", amount=Decimal(10))
    page = admin_client.get("/admin/orders/order/", {"order_type__exact": "limit"}).content
    assert str(limit.public_id).encode() in page and str(market.public_id).encode() not in page
    page = admin_client.get("/admin/orders/order/", {"pair": "USDC-SOL"}).content
    assert str(other_pair.public_id).encode() in page
    assert str(market.public_id).encode() not in page
    assert b"export.csv" in admin_client.get("/admin/orders/order/").content

    response = admin_client.get("/admin/orders/order/export.csv", {"pair": "SOL-USDC"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["orderId"] for row in rows} == {str(market.public_id), str(limit.public_id)}
    limit_row = next(row for row in rows if row["orderId"] == str(limit.public_id))
    assert limit_row["limitPrice"] == "99999" and limit_row["status"] == "waiting"
    assert limit_row["amountIn"] == "1.500000000"
    assert admin_client.get("/admin/orders/order/export.csv").status_code == 200


def test_the_csv_export_needs_a_login(client):
    response = client.get("/admin/orders/order/export.csv")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_split_route_shows_its_legs_with_their_share(
    admin_client, make_order, make_gateway, recorder
):
    order = make_order(amount=Decimal(2500), slippage_bps=300)
    order_execute(order_pk=order.pk, notifier=recorder, dex=make_gateway())
    order.refresh_from_db()
    assert len(order.route["routePlan"]) == 2, order.route
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    for leg in order.route["routePlan"]:
        assert f"{leg['percent']}% of SOL → USDC via {leg['dex']}" in page
