"""Market integrity: no self-trade, a minimum resting time, an order-to-trade ratio cap."""
