"""Print the fault tests' figures as the Markdown table in docs/reliability.md:
``python -m tests.chaos.report var/chaos``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ORDER = ["worker-sigkill", "redis-outage", "postgres-restart", "provider-faults", "two-beats"]


def main(folder: str) -> None:
    found = {p.stem: json.loads(p.read_text()) for p in Path(folder).glob("*.json")}
    print("| fault | readers | faults injected | emails expected | delivered | duplicates "
          "| failed with reason | interrupted (in flight at most) "
          "| settled by lookup / event / second send | lost after a 2nd unanswered send | time |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in sorted(found, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        f = found[name]
        failed = ", ".join(f"{n} {reason}" for reason, n in sorted(f["failed"].items())) or "0"
        settled = f.get("settled", {})
        ways = " / ".join(f"{settled.get(way, 0):,}" for way in ("lookup", "event", "resend"))
        print(f"| {name} | {f['readers']:,} | {f['faults_injected']} | {f['expected']:,} "
              f"| {f['delivered']:,} | {f['duplicates']} | {failed} "
              f"| {f['interrupted']} ({f['in_flight_bound']}) | {ways} | {f.get('lost_second_send', 0)} "
              f"| {f['seconds']:.0f} s |")
        for problem in f["problems"]:
            print(f"|  | problem: {problem} |||||||||")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "var/chaos")
