"""AppConfigs for running the contrib and third-party apps on MongoDB.

MongoDB has no auto-increment, so every model with an integer ``AutoField`` must
use ``ObjectIdAutoField`` there, with migrations of its own (committed under
``evoting/mongo_migrations/``). The project's own models use UUID primary keys
and share one set of migrations on both databases. Only settings.py's MongoDB
block refers to these classes.
"""

from axes.apps import AppConfig as AxesConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.contenttypes.apps import ContentTypesConfig

from evoting.admin_site import ElectionAdminConfig

OBJECT_ID_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"


class MongoAdminConfig(ElectionAdminConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoAuthConfig(AuthConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoContentTypesConfig(ContentTypesConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoAxesConfig(AxesConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD
