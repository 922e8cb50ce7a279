"""Project-level checks: API docs in step with the code, migrations complete, no CDN."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

from orders.management.commands.export_api_docs import build_documents

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


@pytest.mark.parametrize("name", ["openapi.yaml", "postman_collection.json"])
def test_committed_api_documents_match_the_code(name):
    generated = build_documents()[name]
    committed = (DOCS / name).read_text()
    assert committed == generated, f"docs/{name} is stale: run `manage.py export_api_docs`"


def test_schema_documents_every_endpoint(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in (
        "/api/orders/execute",
        "/api/orders",
        "/api/orders/{order_id}",
        "/api/orders/stats",
    ):
        assert f"{path}:" in text


def test_swagger_ui_is_served_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page and "cdn" not in page.lower()
    asset = next(part.split('"')[0] for part in page.split('src="')[1:] if "swagger" in part)
    assert asset.startswith(settings.STATIC_URL) or asset.startswith("/" + settings.STATIC_URL)
    assert finders.find(asset.split(settings.STATIC_URL, 1)[1]), f"{asset} is not shipped"
