"""Risk: symbol states, limits and kill switches, checked before every order leaves."""
