"""Documentation generated from the project itself, so it cannot drift from it."""
