"""The real app (app.py, unchanged) on county-scale reference data, for the memory benchmark: swaps
shisn.domain.jurisdictions' reference data for the 3,100 synthetic jurisdictions of benchmarks/synthetic.py (once per
server process), then runs app.py as the entry point. Point SHISN_DB at a store seeded by
`python benchmarks/synthetic.py --seed-store PATH`."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE.parent / "app.py"
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402

from shisn.domain import jurisdictions  # noqa: E402

if not getattr(jurisdictions, "_county_benchmark", False):
    synthetic.patch_jurisdictions()
    jurisdictions._county_benchmark = True

exec(compile(APP.read_text(), str(APP), "exec"), {"__name__": "__main__", "__file__": str(APP)})
