"""Synthetic LendingClub loans: the real export's 151 columns and raw string formats.

The loans are simulated, not sampled: a latent credit quality drives grade, rate, FICO, income,
dti and the other origination fields, and (with term, purpose and the rest) a lifetime default
probability. Each loan then runs from its issue month to the export date (March 2019, as in the
2018Q4 export): it pays off, prepays, charges off, or is still current, in grace or late. So a
model on origination fields can learn the risk (out-of-time AUC about 0.7, as on real data),
recent vintages hold the active loans, and every format quirk of the real files appears.
Everything is vectorised with numpy and deterministic for a seed.

The phases, one module each: `originate` (the loans at issue), `run_forward` (each loan to the
export date), `export_text` (the raw strings), driven by `generate` (chunks, processes, the
file); `tables` holds the column list and the lookup tables.
"""

from ingest.synthetic.generate import generate_lines, write_synthetic_csv
from ingest.synthetic.tables import LENDINGCLUB_COLUMNS

__all__ = ["LENDINGCLUB_COLUMNS", "generate_lines", "write_synthetic_csv"]
