from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (`manage.py seed_demo`): on top of every domain app, which it writes through their services."""

    name = "demo"
