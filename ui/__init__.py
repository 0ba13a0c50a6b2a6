"""The operator panel: a NiceGUI dashboard and a REST API beside it, read-only on the stores."""
