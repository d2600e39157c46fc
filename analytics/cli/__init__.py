"""The command line, one module per command group. Top layer."""
