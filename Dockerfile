# The app image for docker-compose.yml. The PostGIS database runs in its own container.
FROM python:3.12-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgdal-dev gettext \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY blueprint blueprint
COPY layers layers
COPY compliance compliance
COPY api api
COPY maps maps
COPY fixtures fixtures
COPY locale locale
COPY manage.py ./
RUN pip install --no-cache-dir .
ENV BLUEPRINT_DATA_DIR=/data PROMETHEUS_MULTIPROC_DIR=/data/prometheus
EXPOSE 8000
# Migrate, load the demo data, then serve; the background worker runs beside gunicorn.
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py compilemessages -v0 \
 && python manage.py collectstatic --noinput -v0 && python manage.py load_demo \
 && mkdir -p $PROMETHEUS_MULTIPROC_DIR && (python manage.py procrastinate worker &) \
 && exec gunicorn -c python:blueprint.gunicorn_conf blueprint.wsgi --bind 0.0.0.0:8000 --workers ${WEB_WORKERS:-2} --access-logfile -"]
