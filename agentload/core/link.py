"""The network between an agent and the API, as a spec: round trip, bandwidth each way, jitter, loss.

On loopback a request costs no round trip and a 150 KB body crosses at once; between a developer's
machine and an API it does not, and that is where part of what a continuation saves comes from. A
``LinkSpec`` names such a link, by profile (``--link broadband``) or by its figures (``--link
rtt=40ms,up=20mbit,down=100mbit``); client.wire.link applies it to the agents' own sockets (the kernel's
netem is not at hand: it is done in user space), and the records carry its text. What each part costs:

- a handshake: its round trips (TCP connect 1, TLS 1.3 one more, a WebSocket upgrade one: its request
  and answer are an exchange like any other);
- a request: one round trip, plus its bytes at the uplink rate (the body crosses before the server can
  answer), plus the stalls of TCP's slow start when the body is larger than the connection's window
  (core.slowstart: a new connection's, and after a pause longer than the retransmission timeout,
  which every agent's turn is, the initial window of ten segments), plus a retransmission for each
  lost segment;
- a reply: its bytes at the downlink rate as they come.

The round trip of an exchange is charged where the request leaves (half of it is the way back, which a
client cannot tell apart from the server's time): what an agent measures of an exchange is the same.
Not modelled: congestion control's response to loss, the server's window on the reply stream, queueing
in the network, a real provider's own variance (docs/time-model.md).

The named profiles, with where their figures come from:

- ``datacenter``: agents on a cloud machine in the API's region. RTT 2 ms: the availability zones of
  an AWS region are under 2 ms apart, usually under 1 ms (James Hamilton, AWS re:Invent 2014, SPOT301);
  AWS's fault-isolation whitepaper: "single-digit millisecond latency". 1 Gbit/s each way: a small
  cloud machine's share (EC2 instances list "up to 10 Gbit/s" and more).
- ``broadband``: a developer at home. 14 Mbit/s up and 64 Mbit/s down: Ofcom, UK Home Broadband
  Performance (measured November 2019, published May 2020): mean upload 14.0 Mbit/s, mean download
  64.0 Mbit/s. RTT 40 ms: fixed lines' own latency is 10-30 ms to a nearby test server (FCC, Measuring
  Broadband America; Ookla), and an API region a few hundred to a thousand kilometres away adds 10-20 ms.
- ``mobile``: a laptop on a phone's 4G. 6.3 Mbit/s up, 21.3 Mbit/s down, latency 44-66 ms across
  carriers: Opensignal, State of Mobile: USA (May 2019, Q1 2019 figures): RTT 60 ms with +-10 ms jitter.

Every profile restarts slow start after idle with an initial window of ten segments: the agent's
machine sends the requests, and Linux does so by default (``net.ipv4.tcp_slow_start_after_idle=1``,
``TCP_INIT_CWND`` 10, RFC 6928), as do the BSD stacks macOS's comes from (their ``tcp_output``
restarts after an idle retransmission timeout). ``slowstart=fresh`` keeps the window across pauses (the
sysctl at 0), ``slowstart=off`` models no window, ``iw=N`` another initial window.
No profile has loss: give it (``loss=0.5%``) where a link has it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from .slowstart import INITIAL_WINDOW, RTO_MIN_S, SlowStart, after_idle, burst, rto_s
from .slowstart import MSS as MSS  # (the link's segment size: importers take it from here)

TLS_ROUND_TRIPS = 1  # TLS 1.3 (RFC 8446): one round trip before the first request (TLS 1.2 took two)
MAX_LOSS = 0.5


class LinkSpecError(ValueError):
    """A ``--link`` that does not parse: the message says what is wrong and how to write it."""


@dataclass(frozen=True)
class LinkSpec:
    rtt_ms: float = 0.0
    up_kbps: float = 0.0  # 0: not limited
    down_kbps: float = 0.0  # 0: not limited
    jitter_ms: float = 0.0  # each round trip drawn uniformly within rtt +- jitter (netem's default)
    loss: float = 0.0  # share of TCP segments lost; each costs a retransmission (client.wire.link)
    slow_start: SlowStart = SlowStart.IDLE  # when the window starts from iw (core.slowstart)
    iw: int = INITIAL_WINDOW  # the initial window, in segments
    scale: float = 1.0  # time scale (a sped-up demo): round trips x scale, rates / scale
    profile: str = ""  # the profile it was made from ("" for figures alone)

    @property
    def off(self) -> bool:
        """Nothing to model: no round trip, no rate limit, no loss."""
        return not (self.rtt_ms or self.up_kbps or self.down_kbps or self.jitter_ms or self.loss)

    def effective(self) -> LinkSpec:
        """The figures with the time scale applied (what the sockets use)."""
        s = self.scale
        return replace(
            self,
            rtt_ms=self.rtt_ms * s,
            jitter_ms=self.jitter_ms * s,
            up_kbps=self.up_kbps / s if self.up_kbps else 0.0,
            down_kbps=self.down_kbps / s if self.down_kbps else 0.0,
            scale=1.0,
        )

    def scaled(self, scale: float) -> LinkSpec:
        return replace(self, scale=self.scale * scale)

    @property
    def text(self) -> str:
        """The spec as ``--link`` takes it back: the profile, then the figures that differ from it."""
        if self.off and self.scale == 1.0:
            return ""
        base = PROFILES.get(self.profile, LinkSpec())
        parts = [self.profile] if self.profile else []
        for key, name, unit in _KEYS:
            value = getattr(self, name)
            if value != getattr(base, name):
                parts.append(f"{key}={_show(value, unit)}")
        if self.scale != 1.0:
            parts.append(f"scale={self.scale:g}")
        return ",".join(parts)

    @property
    def label(self) -> str:
        """The link as a table's row names it (its text without the time scale)."""
        return replace(self, scale=1.0).text

    def describe(self) -> str:
        """In words, for a report's header: ``broadband (RTT 40 ms, up 14 Mbit/s, down 64 Mbit/s)``."""
        if self.off:
            return "none (loopback)"
        bits = [f"RTT {self.rtt_ms:g} ms"]
        if self.jitter_ms:
            bits[0] += f" +-{self.jitter_ms:g}"
        for name, kbps in (("up", self.up_kbps), ("down", self.down_kbps)):
            bits.append(f"{name} {rate_words(kbps)}" if kbps else f"{name} unlimited")
        if self.loss:
            bits.append(f"loss {self.loss * 100:g} %")
        if self.slow_start != SlowStart.OFF:
            when = "after idle" if self.slow_start == SlowStart.IDLE else "on new connections"
            bits.append(f"slow start {when} from {self.iw} segments")
        return f"{self.profile or 'custom'} ({', '.join(bits)})"

    # -------------------------------------------- expected times (no jitter, no loss): the calibration's
    def handshake_s(self, round_trips: int) -> float:
        return round_trips * self.effective().rtt_ms / 1000.0

    @property
    def window(self) -> int:
        """The initial window in bytes (0: no window modelled)."""
        return 0 if self.slow_start == SlowStart.OFF else self.iw * MSS

    @property
    def rto_min_s(self) -> float:
        """Linux's minimum retransmission timeout at this link's time scale (a sped-up run's pauses are
        shorter by the same factor)."""
        return RTO_MIN_S * self.scale

    def start_window(self, cwnd: int | None, idle_s: float) -> int:
        """The window a request starts with: a new connection's (``cwnd`` None) or the connection's
        window after ``idle_s`` without sending (restarted after a timeout when slow start is ``idle``)."""
        if cwnd is None or not self.window:
            return self.window
        if self.slow_start != SlowStart.IDLE:
            return cwnd
        return after_idle(cwnd, idle_s, rto_s(self.effective().rtt_ms / 1000.0, self.rto_min_s), self.window)

    def request(self, nbytes: int, cwnd: int | None = None) -> tuple[float, int]:
        """A request of ``nbytes`` sent from a window of ``cwnd`` bytes (None: the initial window): the
        time until its last byte is at the server (its round trip and slow start's stalls included),
        and the window after it."""
        e = self.effective()
        rate = e.up_kbps * 1000 / 8
        up = nbytes / rate if rate else 0.0
        window = self.window if cwnd is None else cwnd
        if not window:
            return e.rtt_ms / 1000.0 + up, 0
        b = burst(nbytes, window, e.rtt_ms / 1000.0, rate)
        return e.rtt_ms / 1000.0 + up + b.stall_s, b.cwnd

    def request_s(self, nbytes: int) -> float:
        """A request of ``nbytes`` from the initial window until its last byte is at the server (its
        round trip included): an agent's every request after a turn's pause, with slow start ``idle``."""
        return self.request(nbytes)[0]

    def reply_s(self, nbytes: int) -> float:
        """A reply's ``nbytes`` at the downlink rate."""
        e = self.effective()
        return nbytes * 8 / (e.down_kbps * 1000) if e.down_kbps else 0.0


PROFILES: dict[str, LinkSpec] = {  # figures and sources: the module's docstring, and docs/time-model.md
    "datacenter": LinkSpec(rtt_ms=2.0, up_kbps=1_000_000, down_kbps=1_000_000, profile="datacenter"),
    "broadband": LinkSpec(rtt_ms=40.0, up_kbps=14_000, down_kbps=64_000, profile="broadband"),
    "mobile": LinkSpec(rtt_ms=60.0, up_kbps=6_300, down_kbps=21_300, jitter_ms=10.0, profile="mobile"),
}
NO_LINK = ("", "none", "off")
EXAMPLE = "rtt=40ms,up=20mbit,down=100mbit"
_KEYS = (  # (key, field, unit), in the order the text shows them
    ("rtt", "rtt_ms", "time"),
    ("up", "up_kbps", "rate"),
    ("down", "down_kbps", "rate"),
    ("jitter", "jitter_ms", "time"),
    ("loss", "loss", "share"),
    ("slowstart", "slow_start", "mode"),
    ("iw", "iw", "count"),
)
_NUMBER = r"(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*"
_TIME = re.compile(_NUMBER + r"(?P<unit>ms|s|us)?", re.I)
_RATE = re.compile(_NUMBER + r"(?P<unit>kbit|mbit|gbit|bit)?", re.I)
_SHARE = re.compile(_NUMBER + r"(?P<unit>%)?", re.I)
_RATE_KBPS = {None: 1.0, "bit": 0.001, "kbit": 1.0, "mbit": 1000.0, "gbit": 1_000_000.0}
_TIME_MS = {None: 1.0, "ms": 1.0, "s": 1000.0, "us": 0.001}


def _show(shown: float | str, unit: str) -> str:
    if unit in ("mode", "count"):
        return str(shown)
    value = float(shown)
    if unit == "time":
        return f"{value:g}ms"
    if unit == "share":
        return f"{value * 100:g}%"
    for name, factor in (("gbit", 1e6), ("mbit", 1e3)):
        if value >= factor and (value / factor) == round(value / factor, 3):
            return f"{value / factor:g}{name}"
    return f"{value:g}kbit"


def rate_words(kbps: float) -> str:
    """``14000`` -> ``14 Mbit/s``."""
    for name, factor in (("Gbit/s", 1e6), ("Mbit/s", 1e3)):
        if kbps >= factor:
            return f"{kbps / factor:g} {name}"
    return f"{kbps:g} kbit/s"


def _number(key: str, text: str, pattern: re.Pattern[str], units: dict[str | None, float], fix: str) -> float:
    m = pattern.fullmatch(text.strip())
    if m is None and text.strip().startswith("-"):
        raise LinkSpecError(f"{key}={text!r} is negative: give 0 or more (e.g. {fix})")
    if m is None:
        raise LinkSpecError(f"{key}={text!r} is not a value like {fix}")
    unit = m.group("unit")
    value = float(m.group("num")) * units[unit.lower() if unit else None]
    if not math.isfinite(value):
        raise LinkSpecError(f"{key}={text!r} is not a finite value (e.g. {fix})")
    return value


def parse_link(text: str) -> LinkSpec | None:
    """``--link``: a profile name, figures (``rtt=40ms,up=20mbit,down=100mbit,jitter=5ms,loss=0.1%``,
    ``slowstart=idle|fresh|off``, ``iw=10``), or both (the figures override the profile's: ``broadband,rtt=80ms``), and ``scale=`` for a
    sped-up run. None for no link ("", none, off). Raises LinkSpecError."""
    text = text.strip()
    if text.lower() in NO_LINK:
        return None
    spec = LinkSpec()
    seen: set[str] = set()
    for i, item in enumerate(p.strip() for p in text.split(",")):
        if not item:
            raise LinkSpecError(f"an empty item in {text!r} (e.g. broadband, or {EXAMPLE})")
        if "=" not in item:
            name = item.lower()
            if i != 0 or name not in PROFILES:
                known = ", ".join(PROFILES)
                what = "a profile comes first" if name in PROFILES else f"unknown profile {item!r}"
                raise LinkSpecError(f"{what} (profiles: {known}; or figures, e.g. {EXAMPLE})")
            spec = PROFILES[name]
            continue
        key, _, value = (s.strip() for s in item.partition("="))
        key = key.lower()
        if key in seen:
            raise LinkSpecError(f"{key}= given twice in {text!r}")
        seen.add(key)
        spec = _with(spec, key, value)
    if spec.off:
        raise LinkSpecError(f"{text!r} models nothing: give a round trip or a rate (e.g. {EXAMPLE}), or none")
    return spec


def _with(spec: LinkSpec, key: str, value: str) -> LinkSpec:
    if key in ("rtt", "jitter"):
        ms = _number(key, value, _TIME, _TIME_MS, "40ms")
        return replace(spec, rtt_ms=ms) if key == "rtt" else replace(spec, jitter_ms=ms)
    if key in ("up", "down"):
        kbps = _number(key, value, _RATE, _RATE_KBPS, "20mbit or 512kbit")
        if kbps <= 0:
            raise LinkSpecError(
                f"{key}={value!r}: a rate above 0 (e.g. 20mbit), or leave {key}= out (not limited)"
            )
        return replace(spec, up_kbps=kbps) if key == "up" else replace(spec, down_kbps=kbps)
    if key == "loss":
        share = _number(key, value, _SHARE, {None: 1.0, "%": 0.01}, "0.5% or 0.005")
        if not 0 <= share <= MAX_LOSS:
            raise LinkSpecError(f"loss={value!r}: from 0 to {MAX_LOSS * 100:g}% of segments")
        return replace(spec, loss=share)
    if key == "slowstart":
        try:
            return replace(spec, slow_start=SlowStart(value.lower()))
        except ValueError:
            modes = ", ".join(m.value for m in SlowStart)
            raise LinkSpecError(f"slowstart={value!r}: one of {modes} (idle: Linux's default)") from None
    if key == "iw":
        if not value.isdigit() or int(value) < 1:
            raise LinkSpecError(f"iw={value!r}: an initial window of 1 or more segments (RFC 6928: 10)")
        return replace(spec, iw=int(value))
    if key == "scale":
        try:
            s = float(value)
        except ValueError:
            s = math.nan
        if not math.isfinite(s) or s <= 0:
            raise LinkSpecError(f"scale={value!r}: a time scale above 0 (0.1: ten times faster)")
        return replace(spec, scale=s)
    known = ", ".join(k for k, _, _ in _KEYS) + ", scale"
    raise LinkSpecError(f"unknown key {key!r} (keys: {known}; e.g. {EXAMPLE})")


def uplink_only(kbps: float) -> LinkSpec | None:
    """What the older ``--uplink-kbps`` gave: the upload rate shaped, nothing else (0: no link)."""
    return LinkSpec(up_kbps=kbps) if kbps > 0 else None


def link_text(spec: LinkSpec | None) -> str:
    return spec.text if spec is not None else ""


def link_order(text: str) -> tuple[float, float, str]:
    """How rows sort by link: none first, then by round trip, then by uplink (slower last)."""
    try:
        spec = parse_link(text)
    except LinkSpecError:
        return (math.inf, 0.0, text)
    if spec is None:
        return (-1.0, 0.0, "")
    e = spec.effective()
    return (e.rtt_ms, -e.up_kbps if e.up_kbps else -math.inf, text)


def uplink_text(kbps: float) -> str:
    """The link an older ``uplink_kbps`` meant, as text ("" for 0: none)."""
    return link_text(uplink_only(kbps))


def split_links(text: str) -> list[str]:
    """A sweep's ``--link`` list: specs separated by ';', or by ',' when every item is a profile name
    (``datacenter,broadband,mobile``); a single spec of figures stays whole (``rtt=40ms,up=20mbit``)."""
    if ";" in text:
        return [t.strip() for t in text.split(";")]
    items = [t.strip() for t in text.split(",")]
    if all("=" not in t for t in items):
        return items
    return [text.strip()]
