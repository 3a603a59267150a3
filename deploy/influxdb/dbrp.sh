#!/bin/bash
# InfluxDB 2.x init script (compose mounts it into /docker-entrypoint-initdb.d): maps database
# "agentload" (retention policy "autogen") to the bucket "agentload", so Grafana's InfluxQL dashboard
# queries the points that agentload writes through the v2 API.
set -euo pipefail
bucket_id=$(influx bucket list --name "${DOCKER_INFLUXDB_INIT_BUCKET}" --hide-headers | cut -f1)
influx v1 dbrp create --db agentload --rp autogen --bucket-id "${bucket_id}" --default
