"""The warehouse outside dbt: one session (session.py) through which every reader and writer
in ingest/, ml/ and exports/ goes, each engine in its own module (duckdb_engine.py,
postgres_engine.py), and the raw layer: its tables (raw_tables.py), the upgrade of their
first layout (raw_migration.py), batches (batch.py), landings (landing.py) and each engine's
writer (duckdb_writer.py, postgres_writer.py with postgres_copy.py), opened by writer.py."""
