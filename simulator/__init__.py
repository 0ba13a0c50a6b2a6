"""A Binance-spot-compatible exchange simulator on loopback, with its own outside market.

Run it from the repository root with `python -m simulator --state DIR`; real ccxt (async and
pro) talks to it unchanged once `appliance.exchanges.venue.point_at_simulator` has pointed ccxt
at it: REST under `/api/v3`, market streams under `/ws` and `/stream`, the WebSocket API with the
user data stream under `/ws-api/v3`. Faults, rate limits and the outside market are set per run
(`--config`, `--set`) and changed while it runs through the admin endpoints under `/sim`.

A development tool beside the product: the box never imports it and the image does not ship it.
"""
