"""``agentload locust ARGS`` and ``agentload probe ARGS``: Locust's own command line, with agentload's
listeners registered before Locust parses it, so ``--help`` lists agentload's options (a plain
``locust -f FILE --help`` prints its help before it loads FILE, so it cannot) and ``-f`` defaults to
the packaged locustfile. Run as ``python -m agentload.locust_main [--probe] ARGS`` in a fresh
process: Locust monkey-patches the interpreter that imports it, which must happen before anything else.
"""

import sys

import locust.main  # noqa: I001  (first: gevent patches the process before anything else loads)

from agentload.launch.locust import LOCUSTFILE, PROBE_LOCUSTFILE


def _has_locustfile(args: list[str]) -> bool:
    return any(a in ("-f", "--locustfile") or a.startswith(("-f=", "--locustfile=")) for a in args)


def main(argv: list[str]) -> None:
    probe = argv[:1] == ["--probe"]
    args = argv[1:] if probe else argv
    if probe:
        from agentload.probe import options, shape  # noqa: F401  (the probe's options and listeners, then agentload's)

        args = ["--headless", *args]
    else:
        from agentload.runtime import plugin  # noqa: F401  (agentload's options and listeners)
    if not _has_locustfile(args):
        args = ["-f", str(PROBE_LOCUSTFILE if probe else LOCUSTFILE), *args]
    sys.argv = ["locust", *args]
    locust.main.main()


if __name__ == "__main__":
    main(sys.argv[1:])
