"""What leaves the warehouse: console reports now; snapshots, archives, drift and dashboards later."""
