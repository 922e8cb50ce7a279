"""``market move SYMBOL PERCENT`` and ``market launch SYMBOL``: make triggers happen."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dex.venues import DEX_NAMES, RAYDIUM
from orders.services.market_controls import MarketControlError, market_launch, market_move


class Command(BaseCommand):
    help = "Operator controls of the simulated market, seen by every engine process."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        move = actions.add_parser("move", help="SYMBOL's price PERCENT higher (or lower)")
        move.add_argument("symbol")
        move.add_argument("percent", help="e.g. 5 or -3.5")
        launch = actions.add_parser("launch", help="open a pool for a token with none yet")
        launch.add_argument("symbol")
        launch.add_argument("--dex", choices=DEX_NAMES, default=RAYDIUM)
        launch.add_argument("--quote", default="USDC", help="the other token of the pool")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "move":
                said = market_move(symbol=options["symbol"], percent=options["percent"])
            else:
                said = market_launch(
                    symbol=options["symbol"], dex=options["dex"], quote=options["quote"]
                )
        except MarketControlError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(said)
