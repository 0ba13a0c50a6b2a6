"""Alerts: watch the box's stores and tell the owner on Telegram and a signed webhook.

Its own process (`python -m appliance.alerts --data DIR`), started by the supervisor beside
the panel. It only reads the stores, so it never blocks or slows the bots; it changes the box
only by asking the supervisor, for the commands an enrolled Telegram chat sends.
"""
