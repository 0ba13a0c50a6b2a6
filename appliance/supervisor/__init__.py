"""appliance/supervisor."""
