"""The bot's input journal: every input of its decisions, recorded for replay, bounded on disk."""
