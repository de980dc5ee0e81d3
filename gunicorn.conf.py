"""gunicorn's settings: gunicorn reads ./gunicorn.conf.py when started from this folder, as the
Dockerfile, docker-compose.yml and README start it.

gunicorn believes X-Forwarded-Proto (and the like) only from the peers in
`forwarded_allow_ips`; its own default is 127.0.0.1, which would let any local process claim
https. Here the default trusts no peer: set FORWARDED_ALLOW_IPS to the TLS proxy's address(es)
or network (comma-separated). The app reads the same variable for the client's address
(apps/accounts/addresses.py).

Workers: one sync worker per core (README, "gunicorn"), unless WEB_CONCURRENCY says otherwise."""

import os

forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
