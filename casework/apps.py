from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    """The NGO side. Uses reporting and evidence."""

    name = "casework"
    verbose_name = "Casework"

    def ready(self) -> None:
        from casework import auth  # noqa: F401 - connects the login and logout receivers
