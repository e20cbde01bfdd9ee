"""Generate the bundled synthetic webcare inbox (data/sample/) with a fixed seed.

    python scripts/generate_sample.py                      # the committed sample
    python scripts/generate_sample.py --out /tmp/s --seed 7 --start 2025-01-01 --end 2025-03-01

See data/sample/README.md for what the files hold and forecast/sample_data.py for the model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(REPO))

from forecast.sample_data import (  # noqa: E402
    DEFAULT_END,
    DEFAULT_SEED,
    DEFAULT_START,
    DEFAULT_TZ,
    EVENTS_FILE,
    INTENSITY_FILE,
    MESSAGE_FILE,
    summary_lines,
    timed_write_sample,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/sample"),
                        help="output folder (default data/sample, relative to the repository)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--start", default=DEFAULT_START, help=f"first local day, YYYY-MM-DD (default {DEFAULT_START})")
    parser.add_argument("--end", default=DEFAULT_END, help=f"local day after the last, exclusive (default {DEFAULT_END})")
    parser.add_argument("--tz", default=DEFAULT_TZ, help=f"time zone of the team (default {DEFAULT_TZ})")
    args = parser.parse_args(argv)
    out = args.out if args.out.is_absolute() else REPO / args.out
    try:
        data, seconds = timed_write_sample(out, start=args.start, end=args.end, tz=args.tz, seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"wrote {out / MESSAGE_FILE}, {out / INTENSITY_FILE}, {out / EVENTS_FILE} (seed {args.seed})")
    for line in summary_lines(data, seconds):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
