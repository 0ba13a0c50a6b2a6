"""appliance/exchanges."""
