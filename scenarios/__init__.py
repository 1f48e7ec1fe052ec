"""Bundled scenario files (TOML). Not code: this package only makes the files installable."""
