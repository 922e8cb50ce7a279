"""Write docs/openapi.yaml and docs/postman_collection.json from the live schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer

from orders.api.postman import collection_from_schema


def build_documents() -> dict[str, str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        "openapi.yaml": OpenApiYamlRenderer().render(schema, renderer_context={}).decode(),
        "postman_collection.json": json.dumps(collection_from_schema(schema), indent=2) + "\n",
    }


class Command(BaseCommand):
    help = "Regenerate the OpenAPI schema and the Postman collection under docs/."

    def handle(self, *args: Any, **options: Any) -> None:
        docs = Path(settings.BASE_DIR) / "docs"
        docs.mkdir(exist_ok=True)
        for name, text in build_documents().items():
            (docs / name).write_text(text)
            self.stdout.write(f"wrote docs/{name}")
