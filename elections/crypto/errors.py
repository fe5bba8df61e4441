"""Typed errors of the ballot cryptography.

Every bad input to this package ends in one of these classes, so callers can
turn any of them into a 4xx answer with a single ``except CryptoError`` and
never see a bare ``TypeError``, ``KeyError`` or ``OverflowError``.
Messages name the failing check; they never contain key material.
"""


class CryptoError(ValueError):
    """Base class of every error raised by ``elections.crypto``."""


class ParameterError(CryptoError):
    """Election parameters or a public key are unusable (bad size, bad shape)."""


class BallotFormatError(CryptoError):
    """A serialised ballot is not well formed: wrong type, size, field or range."""


class InvalidBallot(CryptoError):
    """A ballot is well formed but one of its checks fails.

    ``check`` is a short machine-readable name of the failing check (for
    example ``"selection_challenge"``, ``"count_response"``), suitable for an
    audit log entry; ``index`` is the slot (selection checks) or the question
    (count checks) the failure concerns, else ``None``.
    """

    def __init__(self, message: str, *, check: str, index: int | None = None) -> None:
        super().__init__(message)
        self.check = check
        self.index = index


class KeyFileError(CryptoError):
    """A private key file is wrong, corrupt, truncated, locked or too small."""


class InvalidDecryption(CryptoError):
    """A decryption or its proof is wrong, or the ciphertext is not valid."""
