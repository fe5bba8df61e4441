"""WSGI entry point, used by gunicorn in production (see README.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evoting.settings")

application = get_wsgi_application()
