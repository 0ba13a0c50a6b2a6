"""The panel's pages."""
