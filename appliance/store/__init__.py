"""SQLite stores: one writer process per database, everyone else read-only."""
