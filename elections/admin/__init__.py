"""The election administration, one module per concern.

``elections`` holds the election pages and their irreversible actions,
``questions`` the questions and options, ``trustees`` the trustees' uploads,
``board`` the read-only ballots, tallies and results and the voter roll,
``candidacies`` the candidates' requests to stand and the decisions on them.
Importing them registers them.
"""

from . import board, candidacies, elections, questions
from .common import ROLL_SESSION_KEY

__all__ = ["ROLL_SESSION_KEY", "board", "candidacies", "elections", "questions"]
