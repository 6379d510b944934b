# Eligibility service: `docker build -t eligibility .`
#   SQLite (default):  docker run -p 8000:8000 -v eligibility-data:/data eligibility
#   PostgreSQL:        docker run -p 8000:8000 -e ELIGIBILITY_DB_URL=postgresql://user:pw@db/eligibility eligibility
# First key:           docker run --rm -v eligibility-data:/data eligibility eligibility keys create --role admin --name ops

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install --prefix=/install ".[postgres]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ELIGIBILITY_DATA_DIR=/data \
    ELIGIBILITY_RULES_DIR=/app/rules \
    ELIGIBILITY_HOST=0.0.0.0 \
    ELIGIBILITY_PORT=8000
RUN groupadd --system --gid 10001 eligibility \
 && useradd --system --uid 10001 --gid eligibility --home-dir /app --no-create-home \
    --shell /usr/sbin/nologin eligibility \
 && mkdir -p /data /app \
 && chown eligibility:eligibility /data
COPY --from=build /install /usr/local
COPY rules /app/rules
WORKDIR /app
USER eligibility
# The SQLite database, its WAL, the generated pseudonymisation secret and the metrics of the
# worker processes live here; with PostgreSQL only the secret does (or set ELIGIBILITY_SECRET).
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ELIGIBILITY_PORT', '8000'), timeout=3)"]
CMD ["eligibility", "serve"]
