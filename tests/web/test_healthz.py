"""/healthz tells the operator, in JSON, whether the database and the broker answer."""

from __future__ import annotations

import json

import pytest

from tests.support.processes import child_env, free_port, get, gunicorn, private_redis


@pytest.mark.django_db
def test_healthz_is_ok_when_postgresql_and_redis_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "down": []}
    assert "no-store" in response["Cache-Control"]


def test_healthz_names_the_broker_when_redis_goes_down(django_db_setup, tmp_path):
    with private_redis(tmp_path) as (port, redis):
        broker = f"redis://127.0.0.1:{port}/0"
        env = child_env(CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=broker)
        with gunicorn(env, tmp_path) as site:
            status, body = get(f"{site}/healthz")
            assert (status, json.loads(body)["status"]) == (200, "ok")

            redis.kill()
            redis.wait()
            status, body = get(f"{site}/healthz")

    assert status == 503
    assert json.loads(body) == {
        "status": "down",
        "database": "ok",
        "broker": "down",
        "down": ["broker"],
    }


def test_healthz_names_the_database_when_postgresql_is_unreachable(tmp_path):
    # Nothing listens on this port: to the site, that is a stopped PostgreSQL.
    env = child_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/safe_report")
    with gunicorn(env, tmp_path) as site:
        status, body = get(f"{site}/healthz")

    assert status == 503
    assert json.loads(body) == {
        "status": "down",
        "database": "down",
        "broker": "ok",
        "down": ["database"],
    }
