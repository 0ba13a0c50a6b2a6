"""Who may use the panel: USB-key login sessions, API tokens, and the guard that asks for them."""
