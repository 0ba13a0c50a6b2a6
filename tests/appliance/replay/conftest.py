"""The bot tests' fixtures: a streaming ccxt.pro client for an account on the simulator."""

from tests.appliance.bot.conftest import pro_client

__all__ = ["pro_client"]
