"""Provisioning: the factory that makes a box, its license, and the development box."""
