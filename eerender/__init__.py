"""Trigger-independent core of the Earth Engine rendering functions."""
