"""Panel dashboards: the supervisors' live wall."""
