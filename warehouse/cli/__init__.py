"""The ``warehouse`` command line."""
