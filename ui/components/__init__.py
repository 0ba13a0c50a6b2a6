"""The elements the panel's pages are built from."""
