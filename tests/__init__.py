"""Test suite of smtp-classifier."""
