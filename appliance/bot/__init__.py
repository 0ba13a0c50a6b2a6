"""appliance/bot."""
