"""``python -m elections.trustee ceremony|decrypt|verify``: the command line of ``cli``."""

import io
import sys

from .cli import main

if __name__ == "__main__":
    if isinstance(sys.stdout, io.TextIOWrapper):
        # Option names are Unicode; a terminal that cannot show a character gets an escape.
        sys.stdout.reconfigure(errors="backslashreplace")
    sys.exit(main())
