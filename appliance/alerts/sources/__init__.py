"""What the alerts process watches, one file per source, each read from where it stopped.

Every source is read-only and keeps its place (a sequence number, a last-seen state) so a poll
reads only what is new, and a condition alerts once when it begins, not at every poll.
"""
