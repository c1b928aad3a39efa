"""Statements → graph → step records, pure: the math table, the chain rule, training, check, nudge, explain."""
