"""Where the tests find the repository (the checkout they run in: Dockerfile, deploy/, terraform/)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
