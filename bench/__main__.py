"""`python -m bench`: run every benchmark of the product that exists, one after another.

Each `bench.<area>` module has a `main()` that prints its figures; it runs here with its own
default settings (run `python -m bench.<area> --help` for its options).
"""

import importlib
import importlib.util
import sys
import time

AREAS = ("transitions", "meetings", "reminders", "web", "writers", "pdf", "search", "citizens",
         "oparl", "load")


def main() -> None:
    for area in AREAS:
        name = f"bench.{area}"
        if importlib.util.find_spec(name) is None:
            continue
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        sys.argv = [name]
        importlib.import_module(name).main()
        print(f"({name}: {time.perf_counter() - started:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
