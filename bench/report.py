"""Targets (met / missed) and the markdown results table written into bench/README.md."""

from __future__ import annotations

import re
from pathlib import Path

START = "<!-- bench-results:start -->"
END = "<!-- bench-results:end -->"
LIVE_START = "<!-- bench-live:start -->"  # the live stage's own section (bench/live.py)
LIVE_END = "<!-- bench-live:end -->"
LIVE_STAGES = {"live"}

ENDPOINT_LABELS = {
    "orders_first_page": "GET /api/orders?limit=50",
    "orders_deep_page": "GET /api/orders?limit=50&offset=½·rows",
    "orders_deep_cursor": "GET /api/orders?limit=50&after=(cursor at ½·rows)",
    "orders_search": "GET /api/orders?limit=50&q=…&status=shipped",
    "order_by_id": "GET /api/orders/{id}",
    "order_create": "POST /api/orders",
    "customers_first_page": "GET /api/customers?limit=50",
    "customer_by_id": "GET /api/customers/{id}",
    "server_ping": "floor: GET /ping (server only)",
    "api_health": "floor: GET /api/health (API, one SELECT 1)",
}


def _scale_name(scale: str) -> str:
    return "classic (830)" if scale == "classic" else f"{int(scale):,} demo"


def _fmt(value, places: int = 1, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, (int, float)) and abs(value) >= 1000 and places <= 1:
        return f"{value:,.0f}{unit}"
    return f"{value:.{places}f}{unit}"


def _run(scale_result: dict, endpoint: str, connections: int) -> dict | None:
    ep = (scale_result.get("rest") or {}).get("endpoints", {}).get(endpoint) or {}
    return (ep.get("runs") or {}).get(str(connections))


def _demo_big(scales: dict) -> str | None:
    big = [s for s in scales if s != "classic" and int(s) >= 1_000_000]
    return max(big, key=int) if big else None


def evaluate_targets(results: dict) -> list[dict]:
    """Each target with the measured figure and met / missed / not measured."""
    scales: dict = results.get("scales", {})
    db = results.get("meta", {}).get("db")
    out: list[dict] = []

    def add(target: str, scale: str, measured: str, ok: bool | None, note: str = ""):
        out.append({"target": target, "scale": scale, "measured": measured,
                    "status": "not measured" if ok is None else ("met" if ok else "missed"),
                    "note": note})

    for scale, res in scales.items():
        name = _scale_name(scale)
        if "rest" in res:
            r = _run(res, "orders_first_page", 16)
            add("GET /api/orders?limit=50 ≥ 1,000 req/s, p99 ≤ 50 ms at 16 connections", name,
                f"{_fmt(r['rps'])} req/s, p99 {_fmt(r['latency_ms']['p99'])} ms" if r else "—",
                None if r is None else (r["rps"] >= 1000 and r["latency_ms"]["p99"] <= 50),
                _throughput_note(res, r, "orders_first_page"))
            runs = ((res["rest"]["endpoints"].get("order_by_id") or {}).get("runs") or {})
            best = max(runs.values(), key=lambda x: x["rps"]) if runs else None
            add("GET /api/orders/{id} ≥ 2,000 req/s (best connection count)", name,
                f"{_fmt(best['rps'])} req/s at {best['connections']} conn." if best else "—",
                None if best is None else best["rps"] >= 2000,
                _throughput_note(res, best, "order_by_id"))
        ui = res.get("ui")
        if ui and (scale == "classic" or int(scale) >= 1_000_000):
            limit = 100 if scale == "classic" else 150
            p95 = ui["clicks"]["p95_ms"]
            add(f"click → new rows p95 < {limit} ms", name, f"p95 {_fmt(p95)} ms "
                f"({ui['clicks']['n']} clicks)", None if p95 is None else p95 < limit)
        mem = res.get("memory")
        if mem and mem.get("kb_per_client") is not None:
            last = mem["points"][-1]
            add("≤ 300 KB server memory per connected tab", name,
                f"{_fmt(mem['kb_per_client'])} KB/tab ({last['clients']} tabs; marginal "
                f"{_fmt(mem.get('marginal_kb_per_client'))} KB)", mem["kb_per_client"] <= 300)
        data = res.get("data") or {}
        if scale != "classic" and int(scale) >= 1_000_000 and data.get("wall_s") is not None:
            ok = data["wall_s"] < 180 if db == "mariadb" else None
            add("1M-order generation < 3 minutes on MariaDB", name,
                f"{_fmt(data['wall_s'])} s on {db}", ok,
                "" if db == "mariadb" else "target is for MariaDB")

    big = _demo_big(scales)
    for endpoint in ("orders_first_page", "orders_deep_page", "orders_deep_cursor",
                     "orders_search"):
        label = ENDPOINT_LABELS[endpoint]
        small = _run(scales.get("classic", {}), endpoint, 1) if "classic" in scales else None
        large = _run(scales[big], endpoint, 1) if big else None
        if small and large:
            ratio = large["latency_ms"]["p50"] / small["latency_ms"]["p50"]
            add(f"{label}: at 1M within 2× of 830 (p50, 1 connection)", "1M vs classic",
                f"{_fmt(large['latency_ms']['p50'], 2)} vs {_fmt(small['latency_ms']['p50'], 2)}"
                f" ms = {ratio:.2f}×", ratio <= 2)
        else:
            why = "needs both the classic and a ≥1M scale" if not (("classic" in scales) and big) \
                else _note(scales.get("classic", {}), endpoint) or "endpoint not measured"
            add(f"{label}: at 1M within 2× of 830 (p50, 1 connection)", "1M vs classic", "—",
                None, why)
    return out


def _errors(run: dict) -> str:
    """non-2xx responses, socket errors/timeouts, and a stall after the run, if any."""
    e = run["errors"]
    parts = []
    if run["non_2xx"]:
        parts.append(f"{run['non_2xx']:,} non-2xx")
    socket_errors = e["connect"] + e["read"] + e["write"]
    if socket_errors:
        parts.append(f"{socket_errors:,} socket")
    if e["timeout"]:
        parts.append(f"{e['timeout']:,} timeouts")
    if (run.get("recovery_s") or 0) > 1:
        parts.append(f"server stuck {run['recovery_s']:.0f} s after the run")
    return ", ".join(parts) or "0"


def _cpu(run: dict) -> str:
    """The app server's (+ the database server's) CPU microseconds per request of a run."""
    cpu = run.get("cpu") or {}
    if cpu.get("server_us") is None:
        return "—"
    if cpu.get("database_us") is None:
        return _fmt(cpu["server_us"], 0)
    return f"{_fmt(cpu['server_us'], 0)} + {_fmt(cpu['database_us'], 0)}"


def _cpu_bound(run: dict | None) -> float | None:
    return ((run or {}).get("cpu") or {}).get("cpu_bound_rps")


def _cpu_note(run: dict | None) -> str:
    """Why a throughput is what it is: the CPU a request costs, and what the CPUs allow."""
    if _cpu_bound(run) is None:
        return ""
    return (f"CPU per request {_cpu(run)} µs (app + DB): these CPUs allow at most "
            f"{_fmt(_cpu_bound(run), 0)} req/s")


def _throughput_note(res: dict, run: dict | None, endpoint: str) -> str:
    """Why a throughput target's run measured what it did: the CPU a request costs and what
    the CPUs allow, and what the API's cheapest endpoint reached at the same connection
    count; without a run, why `endpoint` was not measured."""
    if run is None:
        return _note(res, endpoint)
    note = _cpu_note(run)
    floor = _run(res, "api_health", run["connections"])
    if floor is None:
        return note
    extra = (f"the API's floor, /api/health (one SELECT 1, no token), {_fmt(floor['rps'])} req/s "
             f"at {floor['connections']} conn.")
    return f"{note}; {extra}" if note else extra


def _note(res: dict, endpoint: str) -> str:
    ep = (res.get("rest") or {}).get("endpoints", {}).get(endpoint) or {}
    return ep.get("note", "")


def _cpu_check_lines(meta: dict) -> list[str]:
    """The machine's speed at the start and the end of the run (common.cpu_check)."""
    checks = [(when, meta[key]) for when, key in (("start", "cpu_check_start"),
                                                   ("end", "cpu_check_end")) if meta.get(key)]
    if not checks:
        return []
    loop = checks[0][1]["loop"]
    said = "; ".join(f"{when} {check['one_s']:.2f} s alone, {check['two_s']:.2f} s each with two "
                     f"at once" for when, check in checks)
    return ["", f"CPU check (CPU time of a {loop:,}-step Python loop; lower is faster): {said}. "
                "Runs are comparable only on a machine of the same speed."]


def _meta_lines(meta: dict) -> list[str]:
    m = meta["machine"]
    return [
        f"Run **{meta['date']}** · `{meta['command']}`" + (" · **quick smoke run: figures are "
                                                          "not comparable to the targets**"
                                                          if meta.get("quick") else ""),
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM, {m['os']}, "
        f"Python {m['python']}. Database: **{meta['db']}**.",
        *_cpu_check_lines(meta),
    ]


def live_targets(results: dict) -> list[dict]:
    """The live stage's targets (issue #23), per scale and load run."""
    out: list[dict] = []
    for scale, res in results.get("scales", {}).items():
        live = res.get("live") or {}
        lat = live.get("latency")
        if lat:
            p95 = lat["all"]["p95_ms"]
            out.append({"target": "API write → other tab's DOM p95 < 300 ms",
                        "scale": _scale_name(scale),
                        "measured": f"p95 {_fmt(p95)} ms (list {_fmt(lat['list']['p95_ms'])}, "
                                    f"order page {_fmt(lat['order_page']['p95_ms'])}; "
                                    f"{lat['changes']} changes)",
                        "ok": None if p95 is None else p95 < 300})
        load = live.get("load")
        if load:
            tabs, rate = load["tabs"], _fmt(load["rate_per_s"], 0)
            p95 = load["notified"]["p95_ms"]
            out.append({"target": f"{tabs} tabs, {rate} writes/s: write → tab notified p95 < 1 s",
                        "scale": _scale_name(scale), "measured": f"p95 {_fmt(p95)} ms",
                        "ok": None if p95 is None else p95 < 1000})
            out.append({"target": f"{tabs} tabs, {rate} writes/s: no tab misses a change",
                        "scale": _scale_name(scale),
                        "measured": f"{load['missed']} orders never shown by a tab, "
                                    f"{load['tabs_stale_at_end']} tabs stale at the end, "
                                    f"{load['browser_missed']} missed in Chromium",
                        "ok": not (load["missed"] or load["tabs_stale_at_end"]
                                   or load["browser_missed"])})
            growth = load["rss_growth_second_half_kb"]
            out.append({"target": f"{tabs} tabs, {rate} writes/s: memory flat",
                        "scale": _scale_name(scale),
                        "measured": f"RSS {load['rss_kb_start'] / 1024:.0f} → "
                                    f"{load['rss_kb_end'] / 1024:.0f} MB, second half "
                                    f"{growth / 1024:+.1f} MB",
                        "ok": growth < 0.02 * load["rss_kb_start"]})
            out.append({"target": "a tab on unrelated data receives nothing per write",
                        "scale": _scale_name(scale),
                        "measured": f"{load['unrelated_updates']} updates in "
                                    f"{load['writes']} writes",
                        "ok": load["unrelated_updates"] == 0})
    return out


def live_markdown(results: dict, meta: bool = True) -> str:
    """The live stage's section: targets, latency, and the load (and the comparison); with
    the run's header (`meta`) when it stands alone (bench/README.md's live section)."""
    lines = [*(_meta_lines(results["meta"]) + [""] if meta else []), "#### Targets", "",
             "| target | scale | measured | result |", "|---|---|---|---|"]
    for t in live_targets(results):
        mark = "— not measured" if t["ok"] is None else "✅ met" if t["ok"] else "❌ missed"
        lines.append(f"| {t['target']} | {t['scale']} | {t['measured']} | {mark} |")
    lines += ["", "#### Write → other tab's DOM (Chromium)", "",
              "| scale | changes | list p50 | list p95 | order page p50 | order page p95 "
              "| both p95 | max |", "|---|---|---|---|---|---|---|---|"]
    scales = results.get("scales", {})
    for scale, res in scales.items():
        lat = (res.get("live") or {}).get("latency")
        if lat:
            lines.append(f"| {_scale_name(scale)} | {lat['changes']} | "
                         f"{_fmt(lat['list']['p50_ms'], 0)} ms | {_fmt(lat['list']['p95_ms'], 0)} ms"
                         f" | {_fmt(lat['order_page']['p50_ms'], 0)} ms | "
                         f"{_fmt(lat['order_page']['p95_ms'], 0)} ms | "
                         f"{_fmt(lat['all']['p95_ms'], 0)} ms | {_fmt(lat['all']['max_ms'], 0)} ms |")
    lines += ["", "#### Connected tabs under writes", "",
              "| scale | refreshes | tabs (+ Chromium) | writes | server CPU / write "
              "| DB CPU / write | machine busy | RSS start → end (2nd half) | Redis growth "
              "| tab notified p50 / p95 / p99 | Chromium shown p95 | missed / stale "
              "| updates per tab per write | unrelated tab |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for scale, res in scales.items():
        live = res.get("live") or {}
        for label, name in (("load_unshared", "each tab reads"), ("load", "shared reads")):
            load = live.get(label)
            if not load:
                continue
            n = load["notified"]
            failed = "".join(
                f" ({count} {what})" for count, what in (
                    (load["write_errors"], "failed"),
                    # An older results file counted skipped writes as failed.
                    (load.get("writes_skipped", 0), "not sent: 8 earlier writes unanswered"))
                if count)
            took = load.get("write_ms") or {}
            answered = (f"; answered p50 {_fmt(took['p50_ms'], 0)} / p95 "
                        f"{_fmt(took['p95_ms'], 0)} ms" if took.get("n") else "")
            lines.append(
                f"| {_scale_name(scale)} | {name} | {load['tabs']} (+ {load['browser_tabs']}) | "
                f"{load['writes']} in {_fmt(load['writes_s'])} s"
                f"{failed}{answered} | "
                f"{_fmt(load['server_cpu_ms_per_write'])} ms | "
                f"{_fmt(load['database_cpu_ms_per_write'])} ms | "
                f"{_fmt(load['machine_busy_pct'], 0)} % | "
                f"{load['rss_kb_start'] / 1024:.0f} → {load['rss_kb_end'] / 1024:.0f} MB "
                f"({load['rss_growth_second_half_kb'] / 1024:+.1f} MB) | "
                f"{load['redis_growth_kb'] / 1024:+.1f} MB | "
                f"{_fmt(n['p50_ms'], 0)} / {_fmt(n['p95_ms'], 0)} / "
                f"{_fmt(load['notified_p99_ms'], 0)} ms | "
                f"{_fmt(load['browser_shown']['p95_ms'], 0)} ms | "
                f"{load['missed']} / {load['tabs_stale_at_end']} | "
                f"{_fmt(load['updates_per_tab_per_write'], 2)} | "
                f"{load['unrelated_updates']} updates |")
    errors = [f"{_scale_name(s)}: {r['errors']['live']}" for s, r in scales.items()
              if (r.get("errors") or {}).get("live")]
    if errors:
        lines += ["", "Errors:", ""] + [f"- {e}" for e in errors]
    return "\n".join(lines) + "\n"


def _has_live(results: dict) -> bool:
    return any(res.get("live") or (res.get("errors") or {}).get("live")
               for res in results.get("scales", {}).values())


def markdown(results: dict, include_live: bool = True) -> str:
    meta = results["meta"]
    m = meta["machine"]
    lines = [
        f"Run **{meta['date']}** · `{meta['command']}`" + (" · **quick smoke run: figures are "
                                                          "not comparable to the targets**"
                                                          if meta.get("quick") else ""),
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM, {m['os']}, "
        f"Python {m['python']}. Database: **{meta['db']}**. wrk: {meta['wrk_seconds']} s per "
        f"run, threads ≤ 2.",
        *_cpu_check_lines(meta),
        "",
        "### Targets",
        "",
        "| target | scale | measured | result |",
        "|---|---|---|---|",
    ]
    for t in results.get("targets", []):
        mark = {"met": "✅ met", "missed": "❌ missed"}.get(t["status"], "— " + t["status"])
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(f"| {t['target']} | {t['scale']} | {t['measured']} | {mark}{note} |")

    scales = results.get("scales", {})
    lines += ["", "### Data and start", "",
              "| scale | orders | order lines | load (command wall) | load (loader) | "
              "first start incl. build | start → /api/health 200 |",
              "|---|---|---|---|---|---|---|"]
    for scale, res in scales.items():
        d = res.get("data") or {}
        s = res.get("start") or {}
        kind = {"classic_import": "classic import", "demo_generation": "demo generation",
                "reused": "reused"}.get(d.get("kind"), "—")
        lines.append(
            f"| {_scale_name(scale)} | {d.get('orders', '—'):,} | {d.get('order_lines', '—'):,} "
            f"| {kind} {_fmt(d.get('wall_s'))} s | {_fmt(d.get('load_s'))} s "
            f"| {_fmt(s.get('first_start_s'))} s | {_fmt(s.get('start_s'), 2)} s |"
            if isinstance(d.get("orders"), int) else
            f"| {_scale_name(scale)} | — | — | — | — | {_fmt(s.get('first_start_s'))} s "
            f"| {_fmt(s.get('start_s'), 2)} s |")

    lines += ["", "### REST (wrk)", "",
              "| scale | endpoint | conn. | req/s | p50 ms | p95 ms | p99 ms | errors "
              "| CPU µs/req: app + DB | CPU-bound req/s |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for scale, res in scales.items():
        for name, ep in ((res.get("rest") or {}).get("endpoints") or {}).items():
            label = ENDPOINT_LABELS.get(name, name)
            if not ep.get("runs"):
                lines.append(f"| {_scale_name(scale)} | {label} | — | — | — | — | — | "
                             f"{ep.get('note') or 'not measured'} | — | — |")
                continue
            for conns, r in ep["runs"].items():
                lat = r["latency_ms"]
                lines.append(f"| {_scale_name(scale)} | {label} | {conns} | {_fmt(r['rps'])} | "
                             f"{_fmt(lat['p50'])} | {_fmt(lat['p95'])} | {_fmt(lat['p99'])} | "
                             f"{_errors(r)} | {_cpu(r)} | {_fmt(_cpu_bound(r), 0)} |")
    info = [f"{_scale_name(s)}: search `q={(r.get('rest') or {}).get('info', {}).get('search')}`, "
            f"deep offset {(r.get('rest') or {}).get('info', {}).get('deep_offset')}, "
            f"order id {(r.get('rest') or {}).get('info', {}).get('order_id')}"
            for s, r in scales.items() if r.get("rest")]
    if info:
        lines += ["", "Parameters: " + "; ".join(info) + "."]

    lines += ["", "### UI (Chromium, /orders)", "",
              "| scale | cold load → first rows p50 | clicks | click → new rows p50 | p95 | "
              "next page p50 / p95 | sort | filter | open order | back |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for scale, res in scales.items():
        ui = res.get("ui")
        if not ui:
            continue
        k = ui["clicks_by_kind"]

        def pair(kind: str) -> str:
            return f"{_fmt(k[kind]['p50_ms'], 0)} / {_fmt(k[kind]['p95_ms'], 0)}"

        lines.append(f"| {_scale_name(scale)} | {_fmt(ui['cold_load_ms']['p50_ms'], 0)} ms | "
                     f"{ui['clicks']['n']} | {_fmt(ui['clicks']['p50_ms'], 0)} ms | "
                     f"{_fmt(ui['clicks']['p95_ms'], 0)} ms | {pair('next_page')} | "
                     f"{pair('sort')} | {pair('filter')} | {pair('open')} | {pair('back')} |")

    lines += ["", "### Server memory (RSS of the whole process group, plus Redis's growth)", "",
              "| scale | idle RSS (+ Redis) | clients | RSS | Redis | KB per client (vs idle) "
              "| of which RSS | marginal KB per client |",
              "|---|---|---|---|---|---|---|---|"]
    for scale, res in scales.items():
        mem = res.get("memory")
        if not mem:
            continue
        for p in mem["points"]:
            idle_redis, redis = mem.get("idle_redis_kb", 0), p.get("redis_kb", 0)
            lines.append(f"| {_scale_name(scale)} | {mem['idle_rss_kb'] / 1024:.1f} MB "
                         f"(+ {idle_redis / 1024:.1f} MB) | "
                         f"{p['clients']} ({p['alive']} alive) | {p['rss_kb'] / 1024:.1f} MB | "
                         f"{redis / 1024:.1f} MB | {_fmt(p['kb_per_client'])} | "
                         f"{_fmt(p.get('rss_kb_per_client', p['kb_per_client']))} | "
                         f"{_fmt(mem.get('marginal_kb_per_client'))} |")
    errors = [f"{_scale_name(s)} {stage}: {msg}" for s, r in scales.items()
              for stage, msg in (r.get("errors") or {}).items()]
    if errors:
        lines += ["", "### Errors", ""] + [f"- {e}" for e in errors]
    if include_live and _has_live(results):
        lines += ["", "### Live updates", "", live_markdown(results, meta=False)]
    return "\n".join(lines) + "\n"


def _replace(text: str, start: str, end: str, block: str, heading: str) -> str:
    if start in text and end in text:
        return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text,
                      flags=re.S)
    return text.rstrip() + f"\n\n{heading}\n\n" + block + "\n"


def update_readme(readme: Path, results: dict, json_path: Path) -> None:
    """The results table (when the run measured more than the live stage) and the live
    stage's own section (when it ran), each between its markers."""
    text = readme.read_text()
    try:
        source = json_path.resolve().relative_to(readme.resolve().parent)
    except ValueError:
        source = json_path
    note = f"<!-- generated by `python -m bench` from {source}; do not edit -->"
    if set(results["meta"].get("stages") or ()) - LIVE_STAGES:
        block = f"{START}\n{note}\n\n{markdown(results, include_live=False)}\n{END}"
        text = _replace(text, START, END, block, "## Results")
    if _has_live(results):
        block = f"{LIVE_START}\n{note}\n\n{live_markdown(results)}\n{LIVE_END}"
        text = _replace(text, LIVE_START, LIVE_END, block, "## Live updates: results")
    readme.write_text(text)
