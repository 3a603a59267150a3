#!/usr/bin/env bash
# Installs the database servers the test suite starts by itself (InfluxDB 1.x and VictoriaMetrics,
# Debian packages). The tests start their own instances on loopback ports; nothing runs as a service.
set -euo pipefail
need=()
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
command -v victoria-metrics >/dev/null 2>&1 || [ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
