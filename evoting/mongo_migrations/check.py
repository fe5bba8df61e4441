"""Make or check the MongoDB migrations of the contrib apps without a MongoDB server.

``makemigrations`` asks the database which migrations it has applied before it
writes anything; with no server running that fails, although writing migrations
needs no database. This runs the same autodetector with that question skipped.

    DATABASE_URL=mongodb://localhost/evoting python -m evoting.mongo_migrations.check [--write]
"""

import os
import sys

import django


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evoting.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db.migrations.loader import MigrationLoader

    if not settings.USE_MONGODB:
        print("Set DATABASE_URL (or MONGODB_URI) to a mongodb:// address first.", file=sys.stderr)
        return 2
    MigrationLoader.check_consistent_history = lambda self, connection: None  # type: ignore[method-assign]
    if "--write" in argv:
        call_command("makemigrations", "admin", "auth", "contenttypes", "axes")
        return 0
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=1)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
