"""Small, fast scenarios for the test suite."""
