"""A JSON parser that keeps money exact and refuses what ``json`` lets through.

Numbers with a fraction or exponent become ``Decimal`` (never float), ``NaN`` and
``Infinity`` are refused, and so is an object that names a key twice (which of the two
would a client expect us to honour?).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser


class DuplicateKeyError(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"duplicate key {key!r}")
        result[key] = value
    return result


def loads_strict(text: str | bytes) -> Any:
    return json.loads(
        text,
        parse_float=Decimal,
        parse_constant=_reject_constant,
        object_pairs_hook=_unique_keys,
    )


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "request body too large"
    default_code = "payload_too_large"


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        # DRF hands parsers the raw stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE is not
        # applied for us: read one byte past the limit and refuse anything longer.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"request body is larger than {limit} bytes")
        try:
            return loads_strict(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ParseError("body is not UTF-8 text") from None
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"body is not valid JSON: {exc}") from None
