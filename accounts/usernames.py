"""The form of a username that must be unique, shared by the model, login and its lockout."""

import unicodedata

# NFKC can lengthen a name (one ligature becomes several letters), so the key has room
# to spare; clean() refuses the rare name whose key would still not fit.
USERNAME_KEY_MAX_LENGTH = 600


def normalise_username(username: str) -> str:
    """The form of a username that must be unique: NFKC, case-folded, NFKC again.

    Folding after NFKC can produce characters that NFKC would change again, hence the
    second pass (Unicode's NFKC_Casefold in all but the default-ignorable characters).
    The database compares these keys byte for byte, so the rule is the same on every
    backend, whatever its collation does with non-ASCII case.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
