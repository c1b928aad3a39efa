"""Text → statements: lexer, parser, the syntax tree, diagnostics, and the tree written back out."""
