"""The simulator's HTTP face: Binance's spot REST endpoints and its own admin endpoints."""
