"""The production topology on loopback (Galera, app processes, haproxy): harness and proofs."""
