#!/usr/bin/env python3
"""Checks memstrain's dependency rule: a file includes only files of its own room or of a lower layer.

A room is a folder under include/memstrain/ and src/ (the header and the source of a module live in
the same room). The layers, lowest first, are listed in LAYERS below and explained in
docs/architecture.md; a room missing from the list is an error, so a new room has to be placed.

Usage: scripts/check-layers.py [REPO]      (prints every include that runs up or sideways; exit 1 if any)
       scripts/check-layers.py --graph     (prints the room-to-room arrows with their counts)
"""

import collections
import os
import re
import subprocess
import sys

# Lowest first. Rooms on one line are on the same layer and must not include each other.
LAYERS = [
    ["util"],
    ["model"],
    ["os", "cgroup", "pprof"],
    ["proc", "discovery"],
    ["actuators", "observers", "plan"],
    ["analysis"],
    ["report"],
    ["executor"],
    ["sweep"],
    ["headroom"],
    ["cli"],
    ["main.cpp"],
]
# Generated or build-configured headers every layer may include.
ANYWHERE = {"version.hpp"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"memstrain/([^"]+)"', re.M)


def room_of(path):
    """The room of a path below include/memstrain/ or src/, or of an include path ("model/plan.hpp")."""
    for prefix in ("include/memstrain/", "src/"):
        if path.startswith(prefix):
            path = path[len(prefix):]
    return path.split("/")[0] if "/" in path else path


def main(argv):
    graph = "--graph" in argv
    args = [a for a in argv[1:] if a != "--graph"]
    repo = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    layer = {r: i for i, rooms in enumerate(LAYERS) for r in rooms}
    files = subprocess.check_output(
        ["git", "-C", repo, "ls-files", "--cached", "--others", "--exclude-standard", "include/memstrain", "src"], text=True).split()
    arrows = collections.Counter()
    problems = []
    for f in files:
        if not f.endswith((".hpp", ".cpp")):
            continue
        src = room_of(f)
        if src not in layer:
            problems.append(f"{f}: room '{src}' has no layer in scripts/check-layers.py")
            continue
        with open(os.path.join(repo, f), encoding="utf-8") as fh:
            text = fh.read()
        for m in INCLUDE.finditer(text):
            inc = m.group(1)
            dst = room_of(inc)
            if dst == src or inc in ANYWHERE:
                continue
            arrows[(src, dst)] += 1
            if dst not in layer:
                problems.append(f"{f}: includes {inc}, whose room '{dst}' has no layer")
            elif layer[dst] >= layer[src]:
                where = "the same layer as" if layer[dst] == layer[src] else "a higher layer than"
                problems.append(f"{f}: includes memstrain/{inc}: '{dst}' is on {where} '{src}'")
    if graph:
        for (a, b), n in sorted(arrows.items(), key=lambda kv: (layer.get(kv[0][0], 99), kv[0])):
            print(f"{a} -> {b} ({n})")
    for p in problems:
        print("layers: " + p, file=sys.stderr)
    if problems:
        print(f"layers: {len(problems)} include(s) break the dependency rule (docs/architecture.md)", file=sys.stderr)
        return 1
    if not graph:
        print(f"layers: {len(files)} files, {sum(arrows.values())} includes across rooms, none runs up")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
