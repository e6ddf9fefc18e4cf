"""Turns the figures of bench/proxy/run.sh into a Markdown table, prints it and writes it into
bench/README.md between the proxy section's markers (creating the file when it is missing).

Usage: table.py RESULTS DATE MACHINE VERSIONS README
RESULTS has one "target metric value" per line.
"""
import sys
from pathlib import Path

BEGIN = "<!-- proxy:begin -->"
END = "<!-- proxy:end -->"

# metric, label, whether higher is better
ROWS = [
    ("iperf1", "Throughput, iperf3, 1 stream (Gbit/s)", True),
    ("iperf8", "Throughput, iperf3, 8 streams (Gbit/s)", True),
    ("rps-keepalive", "Requests/s, wrk, keep-alive, 64 connections", True),
    ("p50-keepalive", "  p50 latency (ms)", False),
    ("p99-keepalive", "  p99 latency (ms)", False),
    ("cpu-keepalive", "  proxy CPU time per 1,000 requests (ms)", False),
    ("rps-close", "New connections/s, wrk, a request per connection, 64 at once", True),
    ("p50-close", "  p50 latency (ms)", False),
    ("p99-close", "  p99 latency (ms)", False),
    ("cpu-close", "  proxy CPU time per 1,000 connections (ms)", False),
    ("syscalls-close", "  proxy system calls per connection (perf trace, light load)", False),
    ("rps-single", "New connections/s, wrk, a request per connection, one at a time", True),
    ("p50-single", "  p50 latency (ms)", False),
    ("p99-single", "  p99 latency (ms)", False),
    ("cpu-single", "  proxy CPU time per 1,000 connections (ms)", False),
    ("rps-tls", "New TLS connections/s, wrk over HTTPS, a full handshake per connection, 64 at once", True),
    ("p50-tls", "  p50 latency (ms)", False),
    ("p99-tls", "  p99 latency (ms)", False),
    ("cpu-tls", "  proxy CPU time per 1,000 connections (ms)", False),
    ("rss-start", "RSS at start (MiB)", False),
    ("rss-idle", "RSS with {idle} idle proxied connections (MiB)", False),
    ("rss-10k", "RSS with 10,000 idle proxied connections, extrapolated (MiB)", False),
]


def main(results_file, date, machine, versions, readme_file):
    figures = {}
    for line in Path(results_file).read_text().splitlines():
        target, metric, value = line.split()
        figures[(target, metric)] = float(value)

    idle = figures.get(("apivip", "idle-count"), 10000)
    for target in ("haproxy", "apivip", "apivip-uring"):
        start, held = figures.get((target, "rss-start")), figures.get((target, "rss-idle"))
        proxied = figures.get((target, "idle-proxied"))
        if start is not None and held is not None and proxied and proxied < 10000:
            # per connection actually proxied: HAProxy may cap the count below the one asked for
            figures[(target, "rss-10k")] = start + (held - start) * 10000 / proxied

    def cell(target, metric):
        value = figures.get((target, metric))
        if value is None:
            return "–"
        return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"

    def ratio(target, metric):
        mine, theirs = figures.get((target, metric)), figures.get(("haproxy", metric))
        if mine is None or not theirs:
            return "–"
        return f"{mine / theirs:.2f}"

    lines = [
        "| metric | direct | HAProxy | apivip | apivip/HAProxy | apivip, io_uring | io_uring/HAProxy |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for metric, label, higher_better in ROWS:
        if metric == "rss-10k" and not any(key[1] == "rss-10k" for key in figures):
            continue
        label = label.format(idle=f"{idle:,.0f}")
        label = label.replace("  ", "&nbsp;&nbsp;") + ("" if higher_better else " ↓")
        lines.append(
            f"| {label} | {cell('direct', metric)} | {cell('haproxy', metric)} | {cell('apivip', metric)} "
            f"| **{ratio('apivip', metric)}** | {cell('apivip-uring', metric)} | **{ratio('apivip-uring', metric)}** |"
        )
    errors = {
        key: value for key, value in figures.items() if key[1].startswith("errors-") and value > 0
    }
    notes = [
        f"Measured {date} on {machine}; {versions}.",
        "↓: lower is better. Ratios are apivip/HAProxy: ≥ 1.00 is at least as good for throughput and "
        "rates, ≤ 1.00 for latency and memory.",
    ]
    held = {t: figures.get((t, "idle-proxied")) for t in ("haproxy", "apivip", "apivip-uring")}
    notes.append(
        "Idle connections seen established at the backend while RSS was read: "
        + ", ".join(f"{t} {v:.0f}" for t, v in held.items() if v is not None)
        + "."
    )
    if idle < 10000:
        notes.append(
            f"This machine allows too few open files for 10,000 proxied connections (20,000 sockets in the "
            f"proxy), so {idle:,.0f} were asked for (HAProxy caps its maxconn by that limit too) and the 10,000 row "
            f"grows the measured cost per connection actually proxied linearly."
        )
    if errors:
        notes.append(
            "wrk reported errors: " + ", ".join(f"{t} {m[7:]} {v:.0f}" for (t, m), v in sorted(errors.items())) + "."
        )
    table = "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"
    print(table)

    readme = Path(readme_file)
    text = readme.read_text() if readme.exists() else "# Benchmarks\n\nEach part's benchmark writes its own section here.\n"
    if BEGIN not in text:
        text += f"\n## Proxy\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{table}{END}{tail}")
    print(f"bench: written to {readme_file}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
