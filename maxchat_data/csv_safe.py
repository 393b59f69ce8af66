"""Every CSV the app hands out is made here, safe to open in a spreadsheet.

Customer names, messages, labels and query results are anybody's text: a
cell such as ``=HYPERLINK("http://…","Invoice")`` would run as a formula in
Excel, LibreOffice or Google Sheets (CSV / formula injection). As OWASP
advises, a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a single quote in front, which those programs show as
text. Numbers stay numbers: -5 in a numeric column is written as it is.
(Streamlit's own table download is switched off in .streamlit/config.toml:
it would write the cells as they are.)"""
from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A text value a spreadsheet would take for a formula, as text; any
    other value unchanged."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _text(values: pd.Index | pd.Series):
    """Only columns that can hold text are looked at: a numeric or time
    column has no cell a spreadsheet would run."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    return values.map(cell)


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV, with its named index as the first column (as
    the pages show it); headers and text cells neutralised."""
    safe = df.copy()
    for i in range(df.shape[1]):  # by position: a query may name two columns alike
        safe.isetitem(i, _text(df.iloc[:, i]))
    safe.columns = [cell(c) for c in df.columns]
    if df.index.name:
        safe.index = _text(df.index)
        safe.index.name = cell(df.index.name)
        return safe.to_csv().encode()
    return safe.to_csv(index=False).encode()
