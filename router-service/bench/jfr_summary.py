#!/usr/bin/env python3
"""Summarises a JFR recording of the router for bench/profile.sh: bytes allocated per call (every
thread's jdk.ThreadAllocationStatistics, last minus first), where the CPU samples fall (self and
inclusive, by method) and where the allocation samples fall (by class and by allocating frames).
Usage: jfr_summary.py RECORDING.jfr CALLS [TOP]"""
import collections
import json
import subprocess
import sys

rec, calls = sys.argv[1], int(sys.argv[2])
top = int(sys.argv[3]) if len(sys.argv) > 3 else 20
out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "64", "--events",
                      "jdk.ExecutionSample,jdk.ObjectAllocationSample,jdk.ThreadAllocationStatistics", rec],
                     check=True, capture_output=True, text=True).stdout
events = json.loads(out)["recording"]["events"]


def frames(ev):
    st = ev["values"].get("stackTrace") or {}
    return ["%s.%s" % (f["method"]["type"]["name"].rsplit(".", 1)[-1], f["method"]["name"])
            for f in st.get("frames", [])]


alloc = {}
for ev in events:
    if ev["type"] == "jdk.ThreadAllocationStatistics":
        t = ev["values"]["thread"]
        key = (t or {}).get("javaThreadId") if t else None
        name = (t or {}).get("javaName") or (t or {}).get("osName") or "?"
        v = ev["values"]["allocated"]
        lo, hi, _ = alloc.get(key, (v, v, name))
        alloc[key] = (min(lo, v), max(hi, v), name)
total = sum(hi - lo for lo, hi, _ in alloc.values())
by_thread = collections.Counter()
for lo, hi, name in alloc.values():
    by_thread[name.rstrip("0123456789-")] += hi - lo
print("allocated: %.1f KB per call over %d calls (%s)" % (total / 1024 / max(calls, 1), calls,
      ", ".join("%s %.1f KB" % (n, b / 1024 / max(calls, 1)) for n, b in by_thread.most_common(4))))

samples = [frames(e) for e in events if e["type"] == "jdk.ExecutionSample"]
n = len(samples)
print("\nCPU samples: %d" % n)
selfc = collections.Counter(s[0] for s in samples if s)
incl = collections.Counter()
for s in samples:
    incl.update(set(s))
print("  self:")
for m, c in selfc.most_common(top):
    print("    %5.1f%%  %s" % (100 * c / n, m))
print("  inclusive:")
for m, c in incl.most_common(top * 2):
    print("    %5.1f%%  %s" % (100 * c / n, m))

allocs = [e for e in events if e["type"] == "jdk.ObjectAllocationSample"]
w = sum(e["values"]["weight"] for e in allocs) or 1
by_class = collections.Counter()
by_site = collections.Counter()
for e in allocs:
    by_class[e["values"]["objectClass"]["name"]] += e["values"]["weight"]
    by_site[" < ".join(frames(e)[:5])] += e["values"]["weight"]
print("\nallocation samples: %d, by class:" % len(allocs))
for c, b in by_class.most_common(top):
    print("    %5.1f%%  %s" % (100 * b / w, c))
print("  by site (top 5 frames):")
for s, b in by_site.most_common(top):
    print("    %5.1f%%  %s" % (100 * b / w, s))
