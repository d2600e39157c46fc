"""The deterministic demo exports. Imports core only."""
