"""Strategies: pure functions from a market view, inventory and parameters to desired quotes."""
