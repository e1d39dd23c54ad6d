"""Production settings plus the floor view's URL: what the benchmark's gunicorn serves.

The floor (`bench/floor.py`) exists only under these settings, so no normal deployment ever exposes it.
"""

from peerly.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
