"""Write ``data/emergency_factors.json``: the literals each of the emergency lexicon's
regular expressions needs, worked out once so that start-up does not read them from every
expression again. Run after editing ``data/emergency_*.toml`` (a test says when it is due;
a term missing from the file is read afresh at start-up, so nothing is missed meanwhile).

    python -m safety.build_factors
"""

from __future__ import annotations

import json
import sys

from safety import _text
from safety.emergency.factors import FACTORS_FILE, build_table
from safety.emergency.lexicon import term_sources


def main() -> int:
    path = _text.data_path(FACTORS_FILE)
    table = build_table(term_sources())
    path.write_text(json.dumps(table, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {path} ({len(table['factors'])} patterns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
