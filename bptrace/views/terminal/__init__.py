"""Records → the terminal, with rich: the only views that import it."""
