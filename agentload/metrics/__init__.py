"""The metrics model: one accumulator (Totals) with an exact merge, the typed comparison row computed
from it, and one formatter for every view of the comparison."""

from .format import (
    SUMMARY_COLUMNS,
    WEB_COLUMNS,
    Column,
    Fmt,
    html_table,
    markdown,
    report_columns,
    text_rows,
    usage_note,
)
from .rows import ComparisonRow, Exposure, Group, comparison, row_of
from .totals import Totals, summed

__all__ = [
    "SUMMARY_COLUMNS",
    "WEB_COLUMNS",
    "Column",
    "ComparisonRow",
    "Exposure",
    "Fmt",
    "Group",
    "Totals",
    "comparison",
    "html_table",
    "markdown",
    "report_columns",
    "row_of",
    "summed",
    "text_rows",
    "usage_note",
]
