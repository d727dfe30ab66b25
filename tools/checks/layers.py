#!/usr/bin/env python3
"""Refuses an #include that goes up a layer (README, "Layout").

ferry's libraries are layers, lowest first; code in one may include its own
folder and the layers below it, never one above. Run by the build (a
target every build depends on), so the build fails on the first upward
include, naming the file, the line and what it may include instead.

usage: layers.py SOURCE_ROOT STAMP_FILE
"""
import os
import re
import sys

# Lowest first; each folder is one static library (meson.build).
LAYERS = ["util", "messages", "transport", "config", "drivers", "migration",
          "actors"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')
SUFFIXES = (".hpp", ".cpp", ".h")


def upward_includes(root):
    for rank, layer in enumerate(LAYERS):
        allowed = set(LAYERS[: rank + 1])
        for folder, _, files in os.walk(os.path.join(root, layer)):
            for name in sorted(files):
                if not name.endswith(SUFFIXES):
                    continue
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if m and m.group(1) in LAYERS and m.group(1) not in allowed:
                            yield (os.path.relpath(path, root), number,
                                   layer, m.group(1), sorted(allowed))


def main():
    root, stamp = sys.argv[1], sys.argv[2]
    bad = list(upward_includes(root))
    for path, number, layer, target, allowed in bad:
        print(f"{path}:{number}: error: layer '{layer}' includes '{target}/', "
              f"a layer above it (it may include: {', '.join(allowed)})",
              file=sys.stderr)
    if bad:
        return 1
    with open(stamp, "w") as f:
        f.write("layers ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
