"""The service layer: plain Python rules and queries shared by the REST API and the screens.

No Reflex imports here. Functions take a Session (or open one with `session_scope`) and
return plain data (dataclasses, dicts, Decimals); callers format for their audience.
"""
