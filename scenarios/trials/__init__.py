"""Bundled trial files (TOML): simulated versions of published randomised trials. Not code: this package only
makes the files installable; the arms' strategy files are in the ``arms`` subpackage."""
