"""Running ppsync as a service: the daemon (APScheduler passes), its HTTP monitor (health,
metrics, alerts), the health judgement ``status`` and Docker share, and systemd's sd_notify."""
