"""Order management: from desired quotes to the fewest cancels and creates, within budget."""
