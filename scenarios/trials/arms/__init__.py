"""Strategy files of the arms of the bundled trials."""
