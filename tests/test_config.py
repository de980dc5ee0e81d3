"""Settings from the environment, the deploy check, the compose file and the health endpoint."""

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.cache import cache

ROOT = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k9#Qv2!mZ8@rT4$wX7^pL1&nB5*cF3(hJ6)dG0-sA9+eY2=uI8_oK4",
    "ALLOWED_HOSTS": "maturity.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/maturity",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
}


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    unwanted = {*PRODUCTION_ENV, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unwanted}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean_with_real_production_values():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_embedded_default_is_sqlite_with_eager_celery():
    env = {"DEBUG": "true"}
    script = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'])"
    )
    result = manage("shell", "-v", "0", "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    engine, name, eager, cache_backend = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert name == str(ROOT / "db.sqlite3")
    assert eager == "True"
    assert cache_backend.endswith("LocMemCache")


def test_broker_url_sends_tasks_to_workers():
    script = (
        "from django.conf import settings as s; "
        "print(s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL)"
    )
    result = manage("shell", "-v", "0", "-c", script, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "redis://127.0.0.1:6379/14"]


def test_tests_use_the_database_asked_for_and_real_redis():
    """scripts/test runs the suite on PostgreSQL, then on SQLite (DATABASE_URL=sqlite:///…)."""
    asked = os.environ["DATABASE_URL"].split(":", 1)[0]
    engine = {"postgres": "postgresql", "sqlite": "sqlite3"}[asked]
    assert settings.DATABASES["default"]["ENGINE"] == f"django.db.backends.{engine}"
    assert settings.CACHES["default"]["BACKEND"] == "config.cache.ForgivingRedisCache"
    cache.set("probe", "値", 30)
    assert cache.get("probe") == "値"


def test_compose_file_is_valid_and_has_every_service_with_a_health_check():
    compose = shutil.which("docker-compose")
    assert compose, "README command (2) installs Debian's docker-compose to validate this file"
    result = subprocess.run(
        [compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env={**os.environ, "SECRET_KEY": "x", "POSTGRES_PASSWORD": "y"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert all("healthcheck" in service for service in services.values())
    assert "gunicorn" in services["web"]["command"]
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert "--config gunicorn.conf.py" in services["web"]["command"]
    assert services["web"]["environment"]["FORWARDED_ALLOW_IPS"] == "${FORWARDED_ALLOW_IPS:-}"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"gunicorn", "config.wsgi", "--config", "gunicorn.conf.py"' in dockerfile
    assert "forwarded" not in dockerfile.lower()
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_openapi_schema_is_valid_without_warnings():
    result = manage("spectacular", "--validate", "--fail-on-warn", env={"DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert "/api/v1/responses/{id}/answers/" in result.stdout


@pytest.mark.django_db
def test_health_endpoint_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_single_sign_on_is_off_by_default_and_on_when_configured():
    script = (
        "from django.test import Client; "
        "page = Client().get('/accounts/login/').content.decode(); "
        "print('SSO' in page, '/oidc/authenticate/' in page)"
    )
    base = {"DEBUG": "true", "ALLOWED_HOSTS": "testserver", "DATABASE_URL": "sqlite://:memory:"}
    off = manage("shell", "-v", "0", "-c", script, env=base)
    assert off.returncode == 0, off.stderr
    assert off.stdout.split() == ["False", "False"]
    sso = {
        **base,
        "OIDC_ENABLED": "true",
        "OIDC_RP_CLIENT_ID": "maturity",
        "OIDC_RP_CLIENT_SECRET": "secret",
        "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://sso.example.com/auth",
        "OIDC_OP_TOKEN_ENDPOINT": "https://sso.example.com/token",
        "OIDC_OP_USER_ENDPOINT": "https://sso.example.com/userinfo",
        "OIDC_OP_JWKS_ENDPOINT": "https://sso.example.com/jwks",
    }
    on = manage("shell", "-v", "0", "-c", script, env=sso)
    assert on.returncode == 0, on.stderr
    assert on.stdout.split() == ["True", "True"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _scheme_gunicorn_believes(extra_env: dict) -> int:
    """Start gunicorn as the Dockerfile does (production settings, https required) and call
    the API over plain http from this machine, claiming X-Forwarded-Proto: https. 401 (no
    credentials): gunicorn believed the claim; 301 (to https): it did not."""
    port = _free_port()
    env = {**os.environ, **PRODUCTION_ENV, "ALLOWED_HOSTS": "127.0.0.1", **extra_env}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # config.wsgi's default: config.settings
    if "FORWARDED_ALLOW_IPS" not in extra_env:
        env.pop("FORWARDED_ALLOW_IPS", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/api/v1/teams/", headers={"X-Forwarded-Proto": "https"})
                return connection.getresponse().status
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gunicorn_trusts_no_local_process_with_x_forwarded_proto_by_default():
    assert _scheme_gunicorn_believes({}) == 301


def test_gunicorn_trusts_the_proxies_in_forwarded_allow_ips():
    assert _scheme_gunicorn_believes({"FORWARDED_ALLOW_IPS": "127.0.0.1"}) == 401


def test_gunicorn_starts_one_worker_per_core_unless_told():
    """gunicorn.conf.py decides the workers (the Dockerfile and compose pass none)."""
    config = {}
    source = (ROOT / "gunicorn.conf.py").read_text()
    exec(compile(source, "gunicorn.conf.py", "exec"), config)
    expected = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    assert config["workers"] == expected >= 1
    assert "--workers" not in (ROOT / "Dockerfile").read_text()
    assert "--workers" not in (ROOT / "docker-compose.yml").read_text()
