"""Ballot cryptography: Paillier encryption, validity proofs, tally and its proof.

Django-free on purpose: the same code serves the web application, the
management commands and an independent verifier, and it can be reviewed
without the framework. The format is specified in ``docs/ballot-format.md``.

Threat model
------------
Protects against:
- a voter (or a script posing as one) submitting an invalid ballot: an
  encryption of 2, of -1 (= n - 1), two selections where one is allowed, or
  none where one is required. Every ciphertext carries a zero-knowledge
  proof that it encrypts 0 or 1, and the product carries a proof that the
  number of selections is within the election's bounds;
- forged proofs: Fiat-Shamir challenges hash a domain tag, the election
  (id, key, title, questions, rules and every option's label via the
  parameters' fingerprint), the voter
  context, every ciphertext, the allowed values and every commitment
  (the weak Fiat-Shamir attack on Helios hashed only the commitments);
- replay and copying: a proof is bound to the voter context the server
  assigns to one voter in one election, so another voter's ballot, a
  re-randomised copy (c * s^n) or a ballot from another election or key is
  rejected;
- malformed and hostile input: sizes are capped before JSON decoding,
  integers have one bounded hex spelling, every element is range-checked
  and must be invertible; every failure is a ``CryptoError`` subclass;
- verifier disagreement: the strict and the batch verifier share one
  acceptance rule (responses in [1, (n-1)/2], equations up to an element
  of order 2, which is exactly what the batch test checks; see ``proofs``);
- a wrong or substituted private key: key files are checked against the
  election's public key and id; decryption results carry a proof anyone can
  check.

Does not protect against:
- a server that knows the private key, or an administrator who decrypts a
  single ballot: privacy rests on the key holder decrypting only the
  final tally (the web application enforces when decryption may happen);
- ballot-box stuffing or removal by whoever controls the server's
  database: that needs the hash chain and public board of the application;
- coercion and vote buying beyond what secret ballots give (no
  re-voting or fake credentials);
- a compromised voting device, which can encrypt another choice (the
  tracker lets a voter check the ballot is on the board, not its content);
- timing side channels: Python big integers are not constant time; the
  secret exponentiations run in the voter's browser and in the key
  holder's own decryption run;
- a malicious key generator: ``n`` is assumed to be an honest RSA modulus.
"""

from .audit import (
    AUDITED_FORMAT,
    AuditedBallot,
    InvalidAudit,
    answers_in_words,
    audit_ballot,
    check_audited_ballot,
    max_audited_bytes,
)
from .ballots import (
    Ballot,
    ballot_to_dict,
    ballot_to_json,
    ballot_tracker,
    check_shape,
    max_ballot_bytes,
    parse_ballot,
    parse_ballot_with_json,
    question_parts,
    tracker_of_json,
    verify_ballot,
)
from .batch import batch_verify, multi_exp, shutdown_workers
from .client import (
    BallotPrecomputation,
    DeterministicRandom,
    RandomSource,
    SystemRandom,
    encrypt_ballot,
    finish_ballot,
    precompute_ballot,
)
from .errors import (
    BallotFormatError,
    CryptoError,
    InvalidBallot,
    InvalidDecryption,
    KeyFileError,
    ParameterError,
)
from .keys import (
    DEFAULT_KEY_BITS,
    MIN_KEY_BITS,
    allow_small_keys_for_tests,
    dump_private_key,
    generate_keypair,
    load_private_key,
    minimum_key_bits,
    public_key_from_json,
    public_key_to_json,
)
from .params import (
    ElectionParams,
    OptionParams,
    QuestionParams,
    check_ballot_structure,
    check_voter_context,
    params_from_dict,
    params_from_json,
    params_to_dict,
    params_to_json,
    single_question_params,
)
from .proofs import CHALLENGE_BITS, OrProof
from .tally import (
    aggregate,
    aggregate_ballots,
    decrypt_with_proof,
    encrypted_zero,
    impossible_counts,
    validate_ciphertext,
    verify_decryption,
    verify_tally,
)

__all__ = [
    "AUDITED_FORMAT",
    "CHALLENGE_BITS",
    "DEFAULT_KEY_BITS",
    "MIN_KEY_BITS",
    "AuditedBallot",
    "Ballot",
    "BallotFormatError",
    "BallotPrecomputation",
    "CryptoError",
    "DeterministicRandom",
    "ElectionParams",
    "InvalidAudit",
    "InvalidBallot",
    "InvalidDecryption",
    "KeyFileError",
    "OptionParams",
    "OrProof",
    "ParameterError",
    "QuestionParams",
    "RandomSource",
    "SystemRandom",
    "aggregate",
    "aggregate_ballots",
    "allow_small_keys_for_tests",
    "answers_in_words",
    "audit_ballot",
    "ballot_to_dict",
    "ballot_to_json",
    "ballot_tracker",
    "batch_verify",
    "check_audited_ballot",
    "check_ballot_structure",
    "check_shape",
    "check_voter_context",
    "decrypt_with_proof",
    "dump_private_key",
    "encrypt_ballot",
    "encrypted_zero",
    "finish_ballot",
    "generate_keypair",
    "impossible_counts",
    "load_private_key",
    "max_audited_bytes",
    "max_ballot_bytes",
    "minimum_key_bits",
    "multi_exp",
    "params_from_dict",
    "params_from_json",
    "params_to_dict",
    "params_to_json",
    "parse_ballot",
    "parse_ballot_with_json",
    "precompute_ballot",
    "public_key_from_json",
    "public_key_to_json",
    "question_parts",
    "shutdown_workers",
    "single_question_params",
    "tracker_of_json",
    "validate_ciphertext",
    "verify_ballot",
    "verify_decryption",
    "verify_tally",
]
