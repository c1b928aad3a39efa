"""Records → text: tables, LaTeX, Markdown handouts, JSON Lines, graph drawings, the loss curve."""
