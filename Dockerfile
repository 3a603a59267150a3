# agentload: the project and its pinned dependencies (pyproject.toml is the one place versions live).
# One image for every role: Locust master, Locust worker, the embedded mock, the CLI (sweep, report).
#   docker build -t agentload .
#   docker run --rm agentload agentload mock --host 0.0.0.0
#   docker run --rm -e OPENAI_API_KEY agentload locust -f /app/locustfile.py --headless -u 8 --host https://api.openai.com
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY agentload ./agentload
COPY locustfile.py ./
# a regular install: the built-in tasks and the locustfile ship inside the package
RUN pip install --no-cache-dir . \
    && rm -rf /app/agentload \
    && useradd --create-home --uid 10001 agentload \
    && mkdir -p /app/runs \
    && chown agentload /app/runs
USER 10001

# 8089: Locust web UI (master), 5557: master <- workers, 8000: the mock
EXPOSE 8089 5557 8000
ENTRYPOINT []
CMD ["locust", "-f", "/app/locustfile.py", "--help"]
