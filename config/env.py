"""Small typed readers for environment variables.

Each reader raises ImproperlyConfigured with the variable's name on a bad value, so an
operator sees which line of their environment file to fix instead of a traceback deep in
Django.  Secrets may also come from a file named by ``NAME_FILE`` (systemd credentials,
Docker secrets), which keeps them out of the process environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def _raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def str(self, name: str, default: str | None = None) -> str | None:
        value = self._raw(name)
        return default if value is None else value

    def bool(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no, not {value!r}")

    def int(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
        return number

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self._raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        if value not in choices:
            raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def secret(self, name: str, default: str | None = None) -> str | None:
        """``NAME`` or the contents of the file named by ``NAME_FILE`` (not both)."""
        direct = self._raw(name)
        path = self._raw(f"{name}_FILE")
        if direct is not None and path is not None:
            raise ImproperlyConfigured(f"set {name} or {name}_FILE, not both")
        if path is not None:
            try:
                content = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ImproperlyConfigured(
                    f"{name}_FILE names {path!r}, which cannot be read: {exc.strerror}"
                ) from None
            if not content:
                raise ImproperlyConfigured(f"{name}_FILE names {path!r}, which is empty")
            return content
        return default if direct is None else direct
