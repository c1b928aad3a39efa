"""Text → statements: lexer, parser, syntax tree, diagnostics, and the tree written back out."""
