"""Deployment files parse and run the same three processes the README documents, with
the command lines ``launcher.commands`` spells for `make run`, the bench and the tests."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import yaml

from launcher.commands import (
    ASGI_APPLICATION,
    beat_command,
    deployed,
    monitor_command,
    web_command,
    worker_command,
)

ROOT = Path(__file__).resolve().parents[1]
# Each deployment file runs exactly what the launcher would, with the platform's $PORT.
DEPLOYED = {kind: " ".join(argv) for kind, argv in deployed().items()}
# What identifies each process kind, whatever the flags around it.
PROCESSES = {
    "web": "daphne -e tcp:port=",
    "worker": "celery -A engine_project worker",
    "beat": "celery -A engine_project beat",
    "monitor": "manage.py price_monitor",
}
WEB_APP = ASGI_APPLICATION


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
    assert {"postgres", "redis", "web", "worker", "beat", "monitor", "migrate"} <= set(services)
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


def test_the_launcher_starts_what_the_deployment_files_name():
    """`make run` runs the programs the deployment files run, through the venv's Python."""
    local = {
        "web": web_command(port="$PORT"),
        "worker": worker_command(),
        "beat": beat_command(),
    }
    for kind, argv in local.items():
        assert argv[1] == "-m" and " ".join(argv[2:]) == DEPLOYED[kind]
        assert PROCESSES[kind] in DEPLOYED[kind]
    monitor = monitor_command()
    assert monitor[1].endswith("manage.py") and monitor[2:] == DEPLOYED["monitor"].split()[2:]


def test_every_deployment_file_runs_the_launchers_command_lines():
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text())
    render = {
        service["name"]: service.get("dockerCommand", "") for service in blueprint["services"]
    }
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    dockerfile_cmd = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD")
    )
    for kind, command in DEPLOYED.items():
        assert command in normalise(procfile[kind]), ("Procfile", kind)
        assert command in normalise(render[f"engine-{kind}"]).replace('"', ""), ("render", kind)
        if kind != "web":  # compose's web runs the image's CMD
            assert command in normalise(compose[kind]["command"]), ("compose", kind)
    web = DEPLOYED["web"]
    assert web in normalise(json.loads(dockerfile_cmd.removeprefix("CMD"))[-1]).replace('"', "")
