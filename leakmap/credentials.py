"""Credentials by value and context: API keys, tokens, session cookies and secrets in URLs.

Key names (`password`, `access_token`) are the extract stage's job; this module recognises
secrets whatever key they sit under, from their format:

- API keys whose prefix is their vendor's own (OpenAI `sk-…T3BlbkFJ…`, GitHub `ghp_`,
  `github_pat_`, Stripe `sk_live_`/`rk_`, AWS `AKIA…`, Slack `xox?-`, Google OAuth `ya29.`, PEM
  private keys, Anthropic, GitLab, SendGrid, Hugging Face, npm). The shapes are detect-secrets'
  plugins (Yelp/detect-secrets@5e141933 detect_secrets/plugins/*.py) and gitleaks' rules
  (gitleaks/gitleaks@b58d3f10 config/gitleaks.toml) for the prefixes detect-secrets lacks,
  written here as data. detect-secrets itself is not a dependency: its entropy and keyword
  plugins, the ones it would add, call every UUID, hash and device id a secret (measured:
  README "Credentials"), and its specific plugins are these regexes.
- JWTs whose claims say a user is logged in (a `sub`, `email` or `exp`), claims decoded as
  evidence; `Bearer` credentials in headers; session cookies (`sessionid`, `connect.sid`…).
- Secrets in URLs: `access_token`, `id_token`, OAuth `code`, password-reset and magic-link
  `token`s, pre-signed `X-Amz-Signature`, `user:pass@host`, in page URLs and referrers.

A tracker's own publishable keys (Stripe `pk_`, Firebase `AIza`, PostHog `phc_`, Mixpanel and
Segment tokens) are never matched: they are `project_key`, labelled by the rules. Tokens that
a rule labels (an SDK's own session token) keep the rule's type: extract only asks this
module about fields no rule names specifically.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from .text import display, is_clean

API_KEY, AUTH_TOKEN, PASSWORD = "api_key", "auth_token", "password"
SECRET_TYPES = frozenset({API_KEY, AUTH_TOKEN, PASSWORD})

# (name, data type, regex). Anchored on the vendor prefix; the body lengths are the formats'.
_KEY_FORMATS: list[tuple[str, str, str]] = [
    ("OpenAI API key", API_KEY, r"sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,160}T3BlbkFJ[A-Za-z0-9_-]{20,160}"),
    ("OpenAI project key", API_KEY, r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}"),
    ("Anthropic API key", API_KEY, r"sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{80,120}"),
    ("GitHub token", API_KEY, r"gh[pousr]_[A-Za-z0-9]{36}"),
    ("GitHub fine-grained token", API_KEY, r"github_pat_\w{82}"),
    ("GitLab token", API_KEY, r"glpat-[\w-]{20,300}"),
    ("Stripe secret key", API_KEY, r"(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,99}"),
    ("AWS access key id", API_KEY, r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"),
    ("Slack token", API_KEY, r"xox[abposr]-[0-9]{6,13}-[A-Za-z0-9-]{8,}"),
    ("Slack webhook", API_KEY, r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}"),
    ("SendGrid API key", API_KEY, r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    ("Hugging Face token", API_KEY, r"hf_[A-Za-z]{34}"),
    ("npm token", API_KEY, r"npm_[A-Za-z0-9]{36}"),
    ("private key", API_KEY, r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
    ("Google OAuth access token", AUTH_TOKEN, r"ya29\.[A-Za-z0-9_-]{20,}"),
]
_KEYS = re.compile("|".join(f"(?P<k{i}>{rx})" for i, (_, _, rx) in enumerate(_KEY_FORMATS)))
_KEY_HINT = re.compile(r"sk-|sk_|rk_|gh[pousr]_|github_pat_|glpat-|AKIA|ASIA|ABIA|ACCA|xox|hooks\.slack|SG\.|hf_|"
                       r"npm_|PRIVATE KEY|ya29\.")
_JWT = re.compile(r"(?<![\w.-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{0,1024}")
_BEARER = re.compile(r"^\s*Bearer\s+(\S{16,})\s*$", re.I)
# Query and fragment parameters that carry a credential when their value looks like one.
_URL_SECRET_PARAMS = {"access_token": AUTH_TOKEN, "id_token": AUTH_TOKEN, "refresh_token": AUTH_TOKEN,
                      "code": AUTH_TOKEN, "token": AUTH_TOKEN, "reset_token": AUTH_TOKEN,
                      "reset_password_token": AUTH_TOKEN, "magic_token": AUTH_TOKEN, "login_token": AUTH_TOKEN,
                      "oobcode": AUTH_TOKEN, "otp": AUTH_TOKEN, "auth": AUTH_TOKEN, "ticket": AUTH_TOKEN,
                      "x-amz-signature": AUTH_TOKEN, "x-goog-signature": AUTH_TOKEN, "sig": AUTH_TOKEN,
                      "password": PASSWORD, "pwd": PASSWORD, "passwd": PASSWORD, "api_key": API_KEY,
                      "apikey": API_KEY, "secret": API_KEY, "client_secret": API_KEY}
_SECRETISH = re.compile(r"^[A-Za-z0-9._~+/=-]{12,}$")
_URL = re.compile(r"https?://[^\s\"'<>]{8,2048}")
_SESSION_COOKIES = frozenset({"session", "sessionid", "session_id", "sid", "connect.sid", "phpsessid", "jsessionid",
                              "asp.net_sessionid", "laravel_session", "_session_id", "auth", "auth_token",
                              "access_token", "remember_token", "remember_user_token", "__session",
                              "next-auth.session-token", "__secure-next-auth.session-token", "sb-access-token"})


@dataclass(frozen=True, slots=True)
class Secret:
    """One credential: its type, the exact text, what recognised it and the evidence."""

    data_type: str
    value: str
    kind: str
    evidence: str = ""


def _entropy_ok(text: str) -> bool:
    """At least 3.5 bits a character over distinct characters, roughly: 12+ distinct chars
    and both letters and digits. Words (`true`, `signup`) and plain counters are not secrets."""
    return len(set(text)) >= 10 and any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def jwt_claims(token: str) -> dict | None:
    """The claims of a JWT (never verified), or None when it does not decode."""
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def _jwt_evidence(claims: dict) -> str:
    shown = {k: claims[k] for k in ("iss", "sub", "aud", "email", "exp", "iat", "scope") if k in claims}
    return "JWT claims " + json.dumps(shown, ensure_ascii=False, default=str)[:300]


def in_value(value: str) -> list[Secret]:
    """Secrets recognisable in any text, whatever key holds it."""
    found: list[Secret] = []
    if len(value) < 16:
        return found
    if _KEY_HINT.search(value):
        for match in _KEYS.finditer(value[:65536]):
            index = int(match.lastgroup[1:])  # type: ignore[index]
            name, data_type, _ = _KEY_FORMATS[index]
            found.append(Secret(data_type, match.group(0), name))
    if "eyJ" in value:
        for match in _JWT.finditer(value[:65536]):
            claims = jwt_claims(match.group(0))
            if claims and ({"sub", "email", "user_id", "uid"} & set(claims)) and "exp" in claims:
                found.append(Secret(AUTH_TOKEN, match.group(0), "JWT", _jwt_evidence(claims)))
    bearer = _BEARER.match(value) if value[:7].lower() == "bearer " else None
    if bearer and not found and _entropy_ok(bearer.group(1)):
        found.append(Secret(AUTH_TOKEN, value.strip(), "Bearer credential"))
    if "://" in value:
        found.extend(in_urls(value))
    return found


def in_urls(text: str) -> list[Secret]:
    """Credentials inside URLs: secret-named query or fragment parameters, `user:pass@`."""
    found = []
    for match in _URL.finditer(text[:65536]):
        parts = urlsplit(match.group(0))
        if parts.password:
            found.append(Secret(PASSWORD, parts.password, "password in URL (user:password@host)"))
        for params in (parts.query, parts.fragment):
            for name, value in parse_qsl(params, keep_blank_values=False)[:100]:
                data_type = _URL_SECRET_PARAMS.get(name.lower())
                if data_type and _SECRETISH.match(value) and (data_type == PASSWORD or _entropy_ok(value)):
                    found.append(Secret(data_type, value, f"`{name}` parameter in a URL"))
        if re.search(r"/(?:reset|reset-password|password/reset|magic|verify|confirm)[/-]", parts.path, re.I):
            segment = parts.path.rstrip("/").rsplit("/", 1)[-1]
            if len(segment) >= 16 and _SECRETISH.match(segment) and _entropy_ok(segment):
                found.append(Secret(AUTH_TOKEN, segment, "token in a password-reset or magic-link path"))
    return found


def in_field(path: str, value: str) -> list[Secret]:
    """Secrets in one uploaded field, its place included: session cookies and `Bearer`
    authorization headers are credentials whatever their format."""
    found = in_value(value)
    if path.startswith("cookie."):
        name = path[len("cookie."):].strip('[]"').lower()
        if name in _SESSION_COOKIES and len(value) >= 16 and _entropy_ok(value) \
                and not any(s.value == value for s in found):
            found.append(Secret(AUTH_TOKEN, value, f"session cookie `{name}`"))
    return found


# --- never printed in full ----------------------------------------------------------------------------

def mask(value: str) -> str:
    """A secret as outputs show it: a short prefix, its length and a hash to compare."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    keep = min(6, len(value) // 5)
    return f"{value[:keep]}…[{len(value)} chars, sha256:{digest}]"


_masked = lru_cache(maxsize=4096)(mask)  # a secret repeats in every row of its request


class SecretHider:
    """Replaces every secret value, and its URL- and JSON-escaped forms, in any output text.
    Built from the findings of a store or a run, so the report, the exports and `leakmap
    replay` show the same masks; `show` (--show-secrets) turns it off.

    The forms are found with one Aho-Corasick automaton (ahocorasick_rs, leftmost-longest:
    at the first place any form starts, the longest one), so masking a text costs time
    linear in the text whatever the number of secrets. It replaces one regex alternation of
    every form, which Python's `re` tries one branch after another at every position: an app
    that signs every request with a fresh token leaves a secret per request, and with 10,000
    of them masking 1.5 KB of text took 72 ms (0.02 ms now), with 50,000 462 ms (0.03 ms)
    and a 438 MB peak (165 MB, most of it the forms themselves; benchmarks/bench_secrets.py).
    Text that is not valid Unicode is masked in its display form (leakmap/text.py), as every
    output shows it."""

    def __init__(self, values: Iterable[str], show: bool = False) -> None:
        from ahocorasick_rs import AhoCorasick, Implementation, MatchKind  # outputs only, not the analysis

        forms: dict[str, str] = {}  # form → the secret it is a form of
        if not show:
            for value in {v for v in values if isinstance(v, str) and len(v) >= 4}:
                for form in (value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]):
                    forms.setdefault(display(form), value)
                bearer = _BEARER.match(value)
                if bearer:  # a `Bearer X` finding: X alone appears in split headers
                    forms.setdefault(display(bearer.group(1)), bearer.group(1))
        # Only the automaton and, per form, its secret (shared with its other forms) are kept.
        self._secrets = list(forms.values())
        self._automaton = AhoCorasick(list(forms), matchkind=MatchKind.LeftmostLongest, store_patterns=False,
                                       implementation=Implementation.NoncontiguousNFA) \
            if forms else None

    def __bool__(self) -> bool:
        return self._automaton is not None

    def text(self, text: object) -> object:
        """*text* with every secret masked; non-strings unchanged."""
        if self._automaton is None or not isinstance(text, str):
            return text
        if not is_clean(text):
            text = display(text)
        matches = self._automaton.find_matches_as_indexes(text)
        if not matches:
            return text
        parts, last = [], 0
        for index, start, end in matches:
            parts += (text[last:start], _masked(self._secrets[index]))
            last = end
        parts.append(text[last:])
        return "".join(parts)
