from django.apps import AppConfig


class DemoConfig(AppConfig):
    """``manage.py seed_demo`` and ``manage.py demo_code``.  No models."""

    name = "demo"
    verbose_name = "Demo data"
