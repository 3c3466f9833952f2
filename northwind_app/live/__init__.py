"""Live screens: every open tab follows the data as other users, the API or the command line
change it (issue #23).

- `feed`: the change feed. The audit trail is it: every service write adds its audit entry in
  the write's own transaction, so a change is in the feed exactly when it is committed, and a
  rolled-back one never is. After a commit the writer announces its entries (Redis pub/sub
  with `REFLEX_REDIS_URL`, else to the listener of its own process). Plain Python: no Reflex.
- `hub`: one listener per worker process that learns of every committed change (the
  announcements, plus a cheap read of the feed by cursor so a lost announcement, or a change
  by another process without Redis, is never a lost change).
- `tabs`: which tab watches which topic (`order:10248`, `orders`, `dashboard`, …), and the
  nudge that makes a tab refresh what it shows, through its own page's event (so through the
  same auth middleware as a click); the mixin page states use (`LiveMixin`).

Only `feed` may be imported by the services; `hub` and `tabs` belong to the screens.
"""
