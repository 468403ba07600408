# Superset 6.1 with the warehouse drivers (the image ships neither) and the project's config.
FROM apache/superset:6.1.0
USER root
RUN pip install --no-cache-dir psycopg2-binary==2.9.13 duckdb-engine==0.17.0 duckdb==1.5.5
COPY exports/superset/superset_config.py /app/pythonpath/superset_config.py
USER superset
