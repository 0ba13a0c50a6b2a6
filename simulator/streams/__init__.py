"""Binance's websocket streams as the simulator sends them: market data and user data."""
