"""/livez (the process answers), /readyz (this web process can serve) and /healthz (the
engine can take orders)."""

from __future__ import annotations

import pytest
import redis
from django.db import OperationalError

from orders import health


def test_livez_is_ok_without_touching_anything(client):
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_reports_database_redis_and_live_workers(client):
    # Real checks. Other engines on this Redis may have workers up, so both answers are
    # possible; each must be consistent.
    response = client.get("/healthz")
    payload = response.json()
    assert payload["database"] == "ok"
    assert payload["redis"] == "ok"
    assert isinstance(payload["workers"], int) and not isinstance(payload["workers"], bool)
    assert payload["workers"] >= 0
    if payload["workers"] == 0:
        assert response.status_code == 503
        assert payload["down"] == ["workers"]
    else:
        assert response.status_code == 200
        assert "down" not in payload


@pytest.mark.django_db
def test_healthz_is_503_naming_workers_when_none_is_running(client, monkeypatch):
    monkeypatch.setattr(health, "_live_workers", lambda: 0)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    payload = response.json()
    assert payload["database"] == "ok"
    assert payload["redis"] == "ok"
    assert payload["workers"] == 0
    assert "workers" in payload["down"]


@pytest.mark.django_db
def test_healthz_is_200_when_everything_is_up(client, monkeypatch):
    monkeypatch.setattr(health, "_live_workers", lambda: 2)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok", "workers": 2}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    payload = response.json()
    assert payload["redis"] == "down"
    assert payload["database"] == "ok"
    assert payload["workers"] == 0
    assert "redis" in payload["down"]


class _BrokenConnection:
    def cursor(self):
        raise OperationalError("connection refused")


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "connection", _BrokenConnection())
    monkeypatch.setattr(health, "_live_workers", lambda: 1)
    response = client.get("/healthz")
    assert response.status_code == 503
    payload = response.json()
    assert payload["database"] == "down"
    assert payload["redis"] == "ok"
    assert payload["down"] == ["database"]


@pytest.mark.django_db
def test_a_malformed_redis_url_is_redis_down_not_a_server_error(client, settings):
    # redis.Redis.from_url raises before there is a client to close (it was a 500).
    settings.REDIS_URL = "localhost:6379"
    with pytest.raises(ValueError):
        redis.Redis.from_url(settings.REDIS_URL)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "down"
    assert "redis" in response.json()["down"]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "down", "down": ["redis"]}


# --- /readyz: can this web process serve (no worker check) ---------------------------------


@pytest.mark.django_db
def test_readyz_is_200_when_database_and_redis_answer_whatever_the_workers(client, monkeypatch):
    def no_worker_check():
        raise AssertionError("readyz must not ask for workers")

    monkeypatch.setattr(health, "_live_workers", no_worker_check)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_naming_redis_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "down", "down": ["redis"]}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_it_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "connection", _BrokenConnection())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"database": "down", "redis": "ok", "down": ["database"]}


@pytest.mark.django_db
def test_readyz_names_both_when_both_are_down(client, monkeypatch, settings):
    monkeypatch.setattr(health, "connection", _BrokenConnection())
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["database", "redis"]
