"""Simulated Solana DEXes: token registry, pool math, quoting, routing and a mock network.

Nothing in this package imports Django: the math is pure and testable on its own.
"""
