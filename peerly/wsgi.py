import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerly.settings")

application = get_wsgi_application()

from peerly.startup import warn_about_configuration  # noqa: E402  (needs the settings configured above)

warn_about_configuration()
