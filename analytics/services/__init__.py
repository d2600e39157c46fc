"""First start (the demo store) and what runs around an import. Imports the layers below."""
