"""Pacing: how fast requests may go (a token bucket) and how long to wait after a failure."""
