"""What the owner sets: one validated model per thing configured, with its history."""
