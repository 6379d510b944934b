# Eligibility service: `docker build -t eligibility .`
#   SQLite (default):  docker run -p 8000:8000 -v eligibility-data:/data eligibility
#   PostgreSQL:        docker run -p 8000:8000 -e ELIGIBILITY_DB_URL=postgresql://user:pw@db/eligibility eligibility
# First key:           docker run --rm -v eligibility-data:/data eligibility eligibility keys create --role admin --name ops
#
# No Docker engine runs where the project is developed: tests/test_install.py stands for this
# file. It copies what the build stage COPYs and runs its RUN commands as they are written here
# (with /opt/eligibility in a temporary folder), then starts the installed `eligibility serve`.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY service ./service
COPY rules ./rules
# The dependencies exactly as locked (hashes checked; pip refuses one the lock lacks), then the
# project's own wheel, which carries the rule sets; pip check: the lock fits pyproject's ranges.
# The PostgreSQL driver is in the runtime lock.
RUN python -m venv /opt/eligibility \
 && /opt/eligibility/bin/python -m pip install --require-hashes -r requirements/runtime.txt \
 && /opt/eligibility/bin/python -m pip wheel --no-deps --wheel-dir dist . \
 && /opt/eligibility/bin/python -m pip install --no-deps dist/eligibility-*.whl \
 && /opt/eligibility/bin/python -m pip check

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/eligibility/bin:$PATH \
    ELIGIBILITY_DATA_DIR=/data \
    ELIGIBILITY_KEYS_DIR=/keys \
    ELIGIBILITY_HOST=0.0.0.0 \
    ELIGIBILITY_PORT=8000
RUN groupadd --system --gid 10001 eligibility \
 && useradd --system --uid 10001 --gid eligibility --home-dir /app --no-create-home \
    --shell /usr/sbin/nologin eligibility \
 && mkdir -p /data /keys /app \
 && chown eligibility:eligibility /data /keys \
 && chmod 700 /keys
# The virtual environment holds the package and its rule sets (service/shipped_rules); set
# ELIGIBILITY_RULES_DIR (and mount a folder there) to serve other rules.
COPY --from=build /opt/eligibility /opt/eligibility
WORKDIR /app
USER eligibility
# /data: the SQLite database, its WAL and the metrics of the worker processes. /keys: the
# generated pseudonymisation key, apart from the data it protects (or set ELIGIBILITY_SECRET).
VOLUME ["/data", "/keys"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ELIGIBILITY_PORT', '8000'), timeout=3)"]
CMD ["eligibility", "serve"]
