"""Failures the DEX layer reports, split by whether trying again can help."""

from __future__ import annotations


class DexError(Exception):
    """Base class. ``transient`` says whether a fresh attempt may succeed."""

    transient: bool = False


class PermanentDexError(DexError):
    transient = False


class TransientDexError(DexError):
    transient = True


class NoRouteError(PermanentDexError):
    """No DEX has a pool for the pair."""


class InsufficientLiquidityError(PermanentDexError):
    """The pool cannot fill the amount at any price: the order can never fill."""


class NetworkError(TransientDexError):
    """The RPC node refused the submission; the transaction was not accepted."""


class BlockhashExpiredError(TransientDexError):
    """The transaction's blockhash is too old; it can never land."""


class SlippageExceededError(TransientDexError):
    """The fill fell below the order's minimum output."""


class TransactionLostError(TransientDexError):
    """The network never saw the transaction and its blockhash has expired."""


class QuoteTimeoutError(TransientDexError):
    """A DEX did not answer a quote in time; a fresh attempt asks again."""
