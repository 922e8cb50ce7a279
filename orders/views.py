"""The built-in page of live order timelines."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dex.tokens import supported_symbols
from dex.venues import DEX_NAMES


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "orders/index.html",
        {
            "tokens": supported_symbols(),
            "dexes": DEX_NAMES,
            "market_controls": settings.MARKET_CONTROLS,
        },
    )
