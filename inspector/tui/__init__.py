"""The Textual app. Only modules under this package import textual."""
