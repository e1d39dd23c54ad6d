"""The benchmark's baseline for the writes: its settings (bench/settings.py) with the domain events off,
so `POST /recognitions` and the Hi5 defer no job. bench/main.py compares the writes with and without."""

from bench.settings import *  # noqa: F403

PEERLY_EVENTS_ENABLED = False
