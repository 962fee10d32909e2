"""Adapters: chat platforms, the console, the command line and the composition root."""
