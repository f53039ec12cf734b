"""Operations: the state of the service at a glance, its metrics, alerts and service logs.

- `probes`: the one registry of what is measured (database, workers, queue, disk, backup,
  replica, error rate; an app adds its own, e.g. exchange's sharing lag) and `snapshot()`;
- `metrics`: the Prometheus face of the same, plus what requests, checks and tiles observe;
- `alerts`: the rule kinds evaluated over a snapshot, their notifications, and the same rules as
  a Prometheus rules file;
- `requestlog`: the access and error logs kept as rows for the admin, and the request timing.
"""
