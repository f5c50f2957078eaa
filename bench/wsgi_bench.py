"""The real app as gunicorn serves it in production, on a generated data set.

Production config (``APP_ENV=production``: secure cookies, HSTS, secret from
the environment) with ``TRUSTED_PROXIES`` on, as behind the reverse proxy the
deployment guide describes: each simulated user comes from its own address
(``X-Forwarded-For``), so the per-IP login limit applies per user as it would
in the field. Uploads go to the generator's folder.

    DATABASE_URL=… SECRET_KEY=… gunicorn -w 4 bench.wsgi_bench:app
"""

from __future__ import annotations

import os

from app import create_app, tune_gc
from bench import common

app = create_app(
    {
        "ENV_NAME": "production",
        "SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"],
        "TRUSTED_PROXIES": 1,
        # The generated staff have no second factor enrolled; the TOTP step is a cost of
        # signing in, not of the pages measured here.
        "MFA_REQUIRED_ROLES": (),
        "UPLOAD_DIR": str(common.DATA_DIR / "files"),
        "AUDIT_SIGNING_KEY": str(common.DATA_DIR / "files" / "keys"),
    }
)
tune_gc()  # as wsgi.py does in production
