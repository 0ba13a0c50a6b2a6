"""Replay: the same decision code run again over recorded inputs, with nothing sent."""
