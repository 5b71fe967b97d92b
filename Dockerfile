# Production image: uvicorn (config/server.py) serving HTTP and WebSockets on $PORT as a
# non-root user.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=8000

RUN apt-get update \
    && apt-get install -y --no-install-recommends libopus0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 app

WORKDIR /app
COPY requirements/ requirements/
RUN pip install -r requirements/base.txt

COPY --chown=app:app . .
# collectstatic needs settings that load; these throwaway values never reach runtime.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-0123456789abcdefghijklmnopqrstuvwxyz \
    ALLOWED_HOSTS=localhost FIELD_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --noinput -v0

USER app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s CMD ["python", "-m", "config.healthcheck"]
# Migrations run as a separate release step (see docker-compose.yml), not on every start.
CMD ["sh", "-c", "exec python -m config.server --host 0.0.0.0 --port ${PORT} --proxy-headers"]
