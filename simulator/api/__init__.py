"""The simulator's network face: Binance's REST endpoints, stream server and WebSocket API,
and its own admin endpoints."""
