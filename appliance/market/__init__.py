"""Market data: exchange rules and the view of a book a strategy quotes against."""
