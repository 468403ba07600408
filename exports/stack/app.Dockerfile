# The project's image: the ingest service and the scheduler (dbt, ML, exports) run from it.
FROM python:3.11.10-slim-bookworm
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml constraints.txt README.md dbt_project.yml ./
COPY ingest ingest
COPY ml ml
COPY exports exports
COPY dbt_project dbt_project
COPY profiles profiles
RUN pip install --no-cache-dir -c constraints.txt -e . \
    && useradd --create-home app && mkdir /models && chown -R app /app /models
USER app
