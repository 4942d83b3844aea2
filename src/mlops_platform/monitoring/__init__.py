"""What the platform exports to Prometheus, the alerts on it and the dashboards over it."""
