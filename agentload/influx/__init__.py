"""InfluxDB output: the schema (schema), the batch writer (writer, senders), the per-process sink, the flags."""
