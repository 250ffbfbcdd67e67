"""Sessions a copy of the database cannot read or date (SESSION_ENGINE).

Django's database sessions are signed, not encrypted: a copy of the table showed an
open return visit's report id and her last click to the microsecond, and a filing
session's exact time (the signature's timestamp, and ``expire_date``) for up to 12 h.
Here the cookie's random value is both the name and the key of its row, and neither is
stored:

* the row is filed under a one-way name derived from the cookie;
* its data is sealed under a key derived from the cookie (evidence/keys.py), so nothing
  in it — report id, times, counters — opens without her browser;
* ``expire_date`` is rounded up to the hour, the only time the row shows in clear.

Staff sessions use the same engine: nothing in them needs to be readable at rest either.
The sealing itself lives in evidence/ (the one package that imports ``cryptography``).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends import db
from django.utils import timezone

from evidence import keys
from evidence.exceptions import CannotOpen

_PURPOSE = "session"


def stored_name(session_key: str) -> str:
    """The row's primary key for the cookie value ``session_key``."""
    return keys.cookie_row_name(session_key, purpose=_PURPOSE)


def to_the_hour(moment: datetime) -> datetime:
    """Rounded up, so a session never ends before the time Django gave it."""
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        row = self.model.objects.filter(
            session_key=stored_name(self.session_key), expire_date__gt=timezone.now()
        ).first()
        if row is None:
            self._session_key = None
        return row

    async def _aget_session_from_db(self):
        return await sync_to_async(self._get_session_from_db)()

    def exists(self, session_key: str) -> bool:
        return self.model.objects.filter(session_key=stored_name(session_key)).exists()

    async def aexists(self, session_key: str) -> bool:
        return await sync_to_async(self.exists)(session_key)

    def create_model_instance(self, data):
        return self.model(
            session_key=stored_name(self._get_or_create_session_key()),
            session_data=self.encode(data),
            expire_date=to_the_hour(self.get_expiry_date()),
        )

    async def acreate_model_instance(self, data):
        return await sync_to_async(self.create_model_instance)(data)

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key is None:
            return
        self.model.objects.filter(session_key=stored_name(session_key)).delete()

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)

    def encode(self, session_dict) -> str:
        plain = self.serializer().dumps(session_dict)
        sealed = keys.seal_for_cookie(plain, self._get_or_create_session_key(), purpose=_PURPOSE)
        return base64.b64encode(sealed).decode("ascii")

    def decode(self, session_data: str) -> dict:
        """{} for data this cookie does not open (a row copied under another name, or
        read without any cookie, as ``Session.get_decoded()`` does)."""
        if not self.session_key:
            return {}
        try:
            sealed = base64.b64decode(session_data, validate=True)
            return self.serializer().loads(
                keys.open_for_cookie(sealed, self.session_key, purpose=_PURPOSE)
            )
        except (CannotOpen, binascii.Error, ValueError):
            return {}
