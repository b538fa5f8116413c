# syntax=docker/dockerfile:1
# The RiverGen platform API: gunicorn + WhiteNoise, production settings.
#
#   docker build -t rivergen-api .
#   docker run --rm --env-file .env rivergen-api python manage.py migrate --noinput   # schema first
#   docker run --env-file .env -p 8000:8000 rivergen-api                              # then serve
#
# Required at run time: SECRET_KEY, JWT_SIGNING_KEY, CREDENTIALS_ENCRYPTION_KEYS, DATABASE_URL
# and ALLOWED_HOSTS (the README's configuration table). Behind a TLS-terminating proxy, set
# FORWARDED_ALLOW_IPS to its address (gunicorn.conf.py); without TLS, SECURE_SSL_REDIRECT=false.
# compose.yaml runs the same image with PostgreSQL, migrations as a one-off service.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PORT=8000

# A numeric, unprivileged user: Kubernetes' runAsNonRoot can only verify a numeric USER.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so code changes reuse this layer. Pinned in requirements.txt;
# psycopg[binary] and cryptography ship wheels, so no compiler or libpq is needed.
COPY requirements.txt .
RUN pip install -r requirements.txt

# The code stays owned by root: the app user can read it, not change it.
COPY . .

# Static files (admin, API docs) hashed and compressed into STATIC_ROOT for WhiteNoise.
# Settings refuse to load without SECRET_KEY, JWT_SIGNING_KEY and CREDENTIALS_ENCRYPTION_KEYS
# when DEBUG is off: these dummies exist only for this build step (collectstatic uses none
# of them) and are not kept in the image's environment.
RUN SECRET_KEY=build-time-collectstatic-only-not-a-secret \
    JWT_SIGNING_KEY=build-time-collectstatic-only-not-a-secret \
    CREDENTIALS_ENCRYPTION_KEYS=build-time-collectstatic-only-not-a-key DEBUG=false \
    python manage.py collectstatic --noinput

USER 10001:10001

EXPOSE 8000

# Liveness: /healthz answers without the database (no curl in the slim image).
# Exit 1 on refusal, timeout or any non-2xx answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

# Exec form: gunicorn is PID 1 and gets `docker stop`'s SIGTERM itself, finishing
# in-flight requests for up to graceful_timeout (25 s) before exiting.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "rivergen.wsgi"]
