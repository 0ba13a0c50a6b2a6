"""MMBox runtime: supervisor, bots, engine, exchanges, store."""
