from prometheus_client import Counter, Histogram

REQUESTS = Counter("academy_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "academy_http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
JOBS = Counter("academy_jobs_total", "Background jobs run", ["task", "outcome"])
