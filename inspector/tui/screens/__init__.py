"""Screens of the app: help and the input prompt."""
