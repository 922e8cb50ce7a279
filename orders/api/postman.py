"""Turn the OpenAPI schema into a Postman (v2.1) collection, so the two never drift."""

from __future__ import annotations

import json
from typing import Any

POSTMAN_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def _example_body(operation: dict[str, Any]) -> str | None:
    content = (operation.get("requestBody") or {}).get("content", {})
    media = content.get("application/json")
    if not media:
        return None
    examples = media.get("examples") or {}
    for example in examples.values():
        if "value" in example:
            return json.dumps(example["value"], indent=2)
    return None


def _query(operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": p["name"], "value": "", "description": p.get("description", ""), "disabled": True}
        for p in operation.get("parameters", [])
        if p.get("in") == "query"
    ]


def _headers(operation: dict[str, Any], has_body: bool) -> list[dict[str, Any]]:
    headers: list[dict[str, Any]] = (
        [{"key": "Content-Type", "value": "application/json"}] if has_body else []
    )
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header":
            headers.append(
                {
                    "key": parameter["name"],
                    "value": "{{$guid}}",
                    "description": parameter.get("description", ""),
                    "disabled": True,
                }
            )
    return headers


def collection_from_schema(schema: dict[str, Any]) -> dict[str, Any]:
    items = []
    for path, methods in sorted(schema.get("paths", {}).items()):
        for method, operation in sorted(methods.items()):
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            body = _example_body(operation)
            segments = [
                "{{orderId}}" if part.startswith("{") else part
                for part in path.strip("/").split("/")
            ]
            request: dict[str, Any] = {
                "method": method.upper(),
                "header": _headers(operation, body is not None),
                "url": {
                    "raw": "{{baseUrl}}/" + "/".join(segments),
                    "host": ["{{baseUrl}}"],
                    "path": segments,
                    "query": _query(operation),
                },
                "description": operation.get("description", ""),
            }
            if body is not None:
                request["body"] = {"mode": "raw", "raw": body}
            items.append(
                {"name": operation.get("summary") or operation["operationId"], "request": request}
            )
    info = schema.get("info", {})
    return {
        "info": {
            "name": info.get("title", "API"),
            "description": info.get("description", ""),
            "schema": POSTMAN_SCHEMA,
        },
        "variable": [
            {"key": "baseUrl", "value": "http://localhost:8000"},
            {"key": "orderId", "value": ""},
        ],
        "item": items,
    }
