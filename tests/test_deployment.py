"""Deployment files parse and run the same three processes the README documents."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# What identifies each process kind, whatever the flags around it.
PROCESSES = {
    "web": "daphne -b 0.0.0.0 -p",
    "worker": "celery -A engine_project worker",
    "beat": "celery -A engine_project beat",
}
WEB_APP = "engine_project.asgi:application"


def normalise(command: str | list[str]) -> str:
    words = command if isinstance(command, list) else shlex.split(command)
    return " ".join(words)


def test_readme_documents_each_process():
    readme = (ROOT / "README.md").read_text()
    for signature in PROCESSES.values():
        assert signature in readme
    assert WEB_APP in readme
    assert "docker compose up" in readme


def test_compose_runs_postgres_redis_web_worker_and_beat_with_health_checks():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "migrate"} <= set(services)
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert "healthcheck" in services["web"]
    assert PROCESSES["worker"] in normalise(services["worker"]["command"])
    assert PROCESSES["beat"] in normalise(services["beat"]["command"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert PROCESSES["web"] in dockerfile and WEB_APP in dockerfile  # the web's default CMD
    assert "USER " in dockerfile  # not root


def test_procfile_and_render_blueprint_name_the_same_commands():
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text())
    commands = {
        service["name"]: service.get("dockerCommand", "") for service in blueprint["services"]
    }
    for kind, signature in PROCESSES.items():
        assert signature in normalise(procfile[kind])
        assert signature in normalise(commands[f"engine-{kind}"])
    assert "migrate" in procfile["release"]
    assert blueprint["databases"][0]["name"] == "engine-db"
