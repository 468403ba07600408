"""Superset settings for credit-risk-ews (loaded through SUPERSET_CONFIG_PATH).

Everything site-specific comes from the environment; nothing here is a secret.
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "SUPERSET_METADATA_URI",
    "sqlite:///" + os.path.join(os.environ.get("SUPERSET_HOME", "."), "superset.db"),
)

# Offline and locked down: the stock front end fetches a telemetry image from an outside
# host; a policy that allows only this origin blocks it (and anything else injected).
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'", "'strict-dynamic'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'self'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
CONTENT_SECURITY_POLICY_WARNING = False

# No Redis here: the default in-process caches; no async queries.
# Render every chart of a dashboard at once (no virtualisation), so screenshots see all.
FEATURE_FLAGS = {"DASHBOARD_VIRTUALIZATION": False, "EMBEDDED_SUPERSET": False}
WTF_CSRF_ENABLED = True
PREVENT_UNSAFE_DB_CONNECTIONS = False
SUPERSET_WEBSERVER_TIMEOUT = 120
