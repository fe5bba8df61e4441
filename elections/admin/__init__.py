"""The election administration, one module per concern.

``elections`` holds the election pages and their irreversible actions,
``questions`` the questions and options, ``trustees`` the trustees' uploads,
``board`` the read-only ballots, tallies and results and the voter roll.
Importing them registers them.
"""

from . import board, elections, questions
from .common import ROLL_SESSION_KEY

__all__ = ["ROLL_SESSION_KEY", "board", "elections", "questions"]
