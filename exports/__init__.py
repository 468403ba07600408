"""What leaves the warehouse: mart snapshots, the raw-event archive and drift reports to the lake, the console report, and the Superset dashboards as code."""
