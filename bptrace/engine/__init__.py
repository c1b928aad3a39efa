"""Statements → graph → step records, pure: math, chain rule, training, check, nudge, explain."""
