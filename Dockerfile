# Production image: the locked dependencies, collected static files, an unprivileged user.
FROM python:3.12-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN SOCIALPAY_PROFILE=production SECRET_KEY=build-only-not-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    SANDBOX_WEBHOOK_SECRET=build-only-not-secret \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput
RUN useradd --system --uid 10001 socialpay && mkdir -p /app/.data/media && chown -R socialpay /app/.data
USER socialpay
EXPOSE 8000
