"""Sweeps: a matrix of cells, one Locust run each, recorded as they finish in a run folder; the report
(HTML, Markdown, JSON) computed from the cells' records; and the demo, a small sweep."""
