"""A Binance-spot-compatible exchange simulator on loopback, with its own outside market.

Run it with `python -m appliance.exchanges.simulator --state DIR`; real ccxt talks to it
unchanged once `appliance.exchanges.venue.point_at_simulator` has pointed ccxt at it.
"""
