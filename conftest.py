# Import rxconfig first: it puts the virtualenv's Node.js on PATH for everything Reflex runs.
import rxconfig  # noqa: F401
