"""Knobs with a fixed set of values: the default when unset, a loud stop when misspelt."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from engine_project.env import env_choice
from launcher.paths import ROOT

CHOICES = ("threads", "prefork")


def test_an_unset_or_blank_choice_is_the_default(monkeypatch):
    monkeypatch.delenv("SOME_POOL", raising=False)
    assert env_choice("SOME_POOL", "threads", CHOICES) == "threads"
    monkeypatch.setenv("SOME_POOL", "  ")
    assert env_choice("SOME_POOL", "threads", CHOICES) == "threads"


def test_a_choice_is_read_without_regard_to_case_or_spaces(monkeypatch):
    monkeypatch.setenv("SOME_POOL", " Prefork ")
    assert env_choice("SOME_POOL", "threads", CHOICES) == "prefork"


def test_an_unknown_choice_names_the_knob_and_the_choices(monkeypatch):
    monkeypatch.setenv("SOME_POOL", "gevent")
    with pytest.raises(
        ImproperlyConfigured, match=r"SOME_POOL='gevent' is not one of threads, prefork"
    ):
        env_choice("SOME_POOL", "threads", CHOICES)


def test_a_misspelt_worker_pool_stops_the_process_at_start_up():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "engine_project.settings"}
    env["ORDER_WORKER_POOL"] = "thread"
    probe = "from django.conf import settings; print(settings.CELERY_WORKER_POOL)"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "ORDER_WORKER_POOL='thread' is not one of threads, prefork" in done.stderr
