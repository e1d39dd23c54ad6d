import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerly.settings")

application = get_asgi_application()

from peerly.startup import warn_about_configuration  # noqa: E402  (needs the settings configured above)

warn_about_configuration()
