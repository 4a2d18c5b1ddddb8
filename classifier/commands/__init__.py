"""Subcommands of the smtp-classifier command line, discovered automatically."""
