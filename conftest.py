# Import rxconfig first: it puts the virtualenv's Node.js on PATH for everything Reflex runs.
import rxconfig  # noqa: F401

import os

# One known secret for the test process and the servers it starts (they must share it to
# verify each other's session and API tokens); never the developer's generated secret.
os.environ.setdefault("NORTHWIND_SECRET_KEY", "northwind-test-secret-not-for-production")
