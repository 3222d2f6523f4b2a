# The hub on a slim Python base. Data (SQLite, blobs, keys) lives under the /data volume;
# production points HUB_DATABASE_URL at PostgreSQL and HUB_STORAGE__* at an S3 server.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HUB_DATA_DIR=/data

# poppler-utils: pdfsig/pdftotext for operators; fonts-wqy-microhei: the embedded CJK font;
# libnss3-tools: certutil; softhsm2: a PKCS#11 module (replace with your HSM's).
RUN apt-get update \
 && apt-get install -y --no-install-recommends poppler-utils fonts-wqy-microhei libnss3-tools softhsm2 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The pinned runtime with every optional backend (S3, Elasticsearch, PKCS#11), then the hub itself.
COPY requirements-backends.lock ./
RUN pip install --require-hashes -r requirements-backends.lock
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY kernel ./kernel
COPY audit ./audit
COPY catalog ./catalog
COPY certificates ./certificates
COPY sharing ./sharing
COPY applications ./applications
COPY signing ./signing
COPY migrations ./migrations
RUN pip install --no-deps .

RUN useradd --system --uid 10001 --home-dir /data hub && mkdir -p /data && chown hub /data
USER hub
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["hub", "serve", "--host", "0.0.0.0", "--port", "8000"]
