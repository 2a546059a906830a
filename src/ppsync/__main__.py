"""``python -m ppsync`` runs the command line."""

from ppsync.cli import entry

entry()
