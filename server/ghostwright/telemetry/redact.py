"""Secret redaction for everything telemetry stores or exports.

Telemetry rows can carry text from the user's editor (code around the cursor, suggestion text,
file names), and editors hold secrets: `.env` files, test fixtures with real keys, pasted tokens.
Every string is passed through `redact_secrets` before it reaches the database, and again on
export. The rules aim at what leaks in practice and keep the name a secret was assigned to
(`password = "[REDACTED]"`), so a redacted row still shows what kind of code it was. They lean
towards redacting: a literal assigned to a secret-looking name is redacted even when it is
harmless, while code that only *refers* to a secret (`password = form.password`) is left alone.

`redact_secrets` is idempotent, so redacting stored rows again on export changes nothing.

A suggestion can copy a secret without what marks it: `"hunter2-correct-horse"` alone, after a
line `password = "hunter2-correct-horse"` above the cursor. `secrets_in` lists the values the
rules find in the text the model saw, and `redact_secrets(text, known=...)` hides them wherever
they appear.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

REDACTED = "[REDACTED]"

MIN_KNOWN_SECRET_CHARS = 6
"""Known secrets shorter than this are not searched for on their own: a value like `1234`
or `admin` appears in ordinary code far more often than it is copied from a password."""

# Token formats recognisable on their own, wherever they appear.
_TOKEN_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        # AWS access key ids (long-lived AKIA, temporary ASIA, and the other documented prefixes).
        r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}\b",
        # GitHub: classic personal, OAuth, user-to-server, server-to-server, refresh; fine-grained.
        r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b",
        r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b",
        # Slack bot, user, app, refresh and configuration tokens.
        r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
        # OpenAI (sk-, sk-proj-, ...) and Anthropic (sk-ant-...) style keys; a digit is required
        # so that long hyphenated words starting with "sk-" are not taken for keys.
        r"\bsk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}",
        # Stripe secret and restricted keys.
        r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b",
        # Google API keys.
        r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])",
        # Hugging Face and npm access tokens.
        r"\bhf_[A-Za-z]{30,}\b",
        r"\bnpm_[A-Za-z0-9]{36}\b",
        # JSON Web Tokens: base64url header and payload (both JSON objects, so "eyJ"), signature.
        r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
    )
)

# A PEM private key block; the END line may be missing when the text is cut (a prefix that ends
# inside the key), so an unterminated block runs to the end of the text.
_PEM_BLOCK = re.compile(
    r"(?P<begin>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----).*?"
    r"(?:(?P<end>-----END [A-Z0-9 ]*PRIVATE KEY-----)|\Z)",
    re.DOTALL,
)
# The tail of a block whose BEGIN line is not in this text (a suffix that starts inside a key):
# the lines of base64 right before the END line are redacted, found by walking back from it.
_PEM_END = re.compile(r"^[ \t]*-----END [A-Z0-9 ]*PRIVATE KEY-----", re.MULTILINE)
_BASE64_LINE = re.compile(r"[A-Za-z0-9+/=]+")

# scheme://user:password@host: only the password goes.
# The password runs to the last `@` before the host, so one containing `@` is hidden whole.
_URL_CREDENTIALS = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<head>[A-Za-z][A-Za-z0-9+.-]*+://[^\s:/@'\"`]*:)"
    r"(?P<password>[^\s/'\"`]+)(?=@)"
)

# `Authorization: Bearer <credential>` in headers, dicts, curl commands; and a bare long
# `Bearer <credential>` anywhere. `{token}` style placeholders do not match the credential class.
_AUTHORIZATION = re.compile(
    r"(?i)(?P<head>\bauthorization[\"']?\s*[:=]\s*[\"']?\s*(?:bearer|basic|token|bot)\s+)"
    r"(?P<credential>[A-Za-z0-9._~+/-]+=*)"
)
_BEARER = re.compile(
    r"(?P<head>\bBearer\s+)(?P<credential>(?=[^\s]*[0-9])[A-Za-z0-9._~+/-]{16,}=*)"
)

# Names whose string values are secrets. The name is split into words (snake, kebab, dotted and
# camel case); its last word, or its last two, must be one of these.
_SECRET_LAST_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "apikey",
        "auth",
        "credential",
        "credentials",
    }
)
_SECRET_LAST_TWO_WORDS = frozenset(
    {
        "api_key",
        "secret_key",
        "access_key",
        "private_key",
        "auth_key",
        "signing_key",
        "encryption_key",
        "master_key",
        "session_key",
    }
)

# `name <op> "literal"`: Python, JS/TS, Go, Ruby, PHP assignments and keyword arguments, JSON and
# dict entries, YAML and .env with quotes, `config["api_key"] = "..."`, and comparisons.
_QUOTED_ASSIGNMENT = re.compile(
    r"""
    (?<![A-Za-z0-9_.-])                                     # a whole name, not its tail
    (?P<key>
        (?P<key_quote>["'`]?)
        (?P<name>[A-Za-z_][A-Za-z0-9_.-]*+)
        (?P=key_quote)
        \s*\]?
    )
    (?P<operator>
        \s*:\s*[A-Za-z_][\w.\[\], |]{0,80}?\s*=\s*          # Python annotation, then `=`
        | \s*(?:={1,3}|!==?|:=|=>|:|\?\?=|\|\|=)\s*
    )
    (?P<string_prefix>[rRbBuUfF]{0,2})
    (?P<quote>["'`])
    (?P<value>(?:\\.|(?!(?P=quote))[^\\\n])*)
    (?P=quote)
    """,
    re.VERBOSE,
)

# Unquoted values on their own line: `.env` (`NAME=value`, no spaces around `=`) and YAML
# (`name: value`). Values that look like code or a type are left alone, below.
_UNQUOTED_ASSIGNMENT = re.compile(
    r"""
    ^(?P<lead>[ \t]*(?:export[ \t]+|-[ \t]+)?)
    (?P<name>[A-Za-z_][A-Za-z0-9_.-]*+)
    (?P<operator>=|:[ \t]+)
    (?P<value>[^\s'"`#\[{(|>&*!$%@][^\s]*+)
    (?P<tail>[ \t]*(?:\#.*)?)$
    """,
    re.VERBOSE | re.MULTILINE,
)

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SEPARATORS = re.compile(r"[_.\-]+")
_DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_TYPE_LIKE = re.compile(r"[A-Za-z_][\w.]*(?:\[.*\])?")
_TYPE_WORDS = frozenset(
    {
        "str",
        "int",
        "bytes",
        "bool",
        "float",
        "string",
        "number",
        "boolean",
        "any",
        "unknown",
        "object",
        "none",
        "null",
        "true",
        "false",
        "list",
        "dict",
    }
)
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\{\{.*\}\}|<[^<>]*>|\*+|x+|\.\.\.", re.IGNORECASE)


def _is_secret_name(name: str) -> bool:
    words = [w for w in _WORD_SEPARATORS.split(_CAMEL_BOUNDARY.sub("_", name).lower()) if w]
    if not words:
        return False
    return words[-1] in _SECRET_LAST_WORDS or "_".join(words[-2:]) in _SECRET_LAST_TWO_WORDS


def _is_secret_literal(value: str) -> bool:
    """Whether a quoted value could be a secret: not empty, not already redacted, and not a
    placeholder (`${DB_PASSWORD}`, `<token>`, `***`), which carries nothing worth hiding."""
    return bool(value) and value != REDACTED and not _PLACEHOLDER.fullmatch(value)


def _looks_like_code(value: str) -> bool:
    """Whether an unquoted value is more likely code or a type than a secret.

    `Password: cfg.Password,` (Go), `token: str` (a Python annotation), `password: string;`
    (TypeScript), `password=get_password()`: a reference, a call, a type, a statement end.
    """
    if value.endswith((",", ";")) or "(" in value or _DOTTED_PATH.fullmatch(value):
        return True
    if _TYPE_LIKE.fullmatch(value) and (value[0].isupper() or "[" in value):
        return True
    return value.lower() in _TYPE_WORDS or bool(_PLACEHOLDER.fullmatch(value))


Hide = Callable[[str], str]
"""Records a secret value the rules found and returns what replaces it (`REDACTED`)."""


def _quoted_assignment(match: re.Match[str], hide: Hide) -> str:
    if not _is_secret_name(match["name"]) or not _is_secret_literal(match["value"]):
        return match[0]
    return (
        match["key"]
        + match["operator"]
        + match["string_prefix"]
        + match["quote"]
        + hide(match["value"])
        + match["quote"]
    )


def _unquoted_assignment(match: re.Match[str], hide: Hide) -> str:
    value = match["value"]
    if not _is_secret_name(match["name"]) or value == REDACTED or _looks_like_code(value):
        return match[0]
    return match["lead"] + match["name"] + match["operator"] + hide(value) + match["tail"]


def _hide_lines(block: str, hide: Hide) -> str:
    """A key's lines of base64 as one `REDACTED`, each line recorded (a copy holds lines)."""
    for line in block.splitlines():
        hide(line.strip())
    return REDACTED


def _pem_block(match: re.Match[str], hide: Hide) -> str:
    begin, end = match["begin"], match["end"]
    body = match[0][len(begin) : len(match[0]) - len(end or "")]
    hidden = _hide_lines(body, hide)
    return f"{begin}\n{hidden}\n{end}" if end else f"{begin}\n{hidden}"


def _redact_pem_tails(text: str, hide: Hide) -> str:
    pieces: list[str] = []
    done = 0
    for end in _PEM_END.finditer(text):
        cut = end.start()
        while cut > done:
            line_start = text.rfind("\n", done, cut - 1) + 1 or done
            if not _BASE64_LINE.fullmatch(text[line_start : cut - 1].strip(" \t\r")):
                break
            cut = line_start
        if cut < end.start():
            pieces += [text[done:cut], _hide_lines(text[cut : end.start()], hide), "\n"]
            done = end.start()
    return "".join(pieces) + text[done:]


def _redact(text: str, hide: Hide) -> str:
    """Every rule, in order, over `text`; each value a rule hides goes through `hide`."""
    if "-----BEGIN " in text:
        text = _PEM_BLOCK.sub(lambda m: _pem_block(m, hide), text)
    if "-----END " in text:
        text = _redact_pem_tails(text, hide)
    text = _URL_CREDENTIALS.sub(lambda m: m["head"] + hide(m["password"]), text)
    text = _AUTHORIZATION.sub(lambda m: m["head"] + hide(m["credential"]), text)
    text = _BEARER.sub(lambda m: m["head"] + hide(m["credential"]), text)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(lambda m: hide(m[0]), text)
    text = _QUOTED_ASSIGNMENT.sub(lambda m: _quoted_assignment(m, hide), text)
    return _UNQUOTED_ASSIGNMENT.sub(lambda m: _unquoted_assignment(m, hide), text)


def _replace(_: str) -> str:
    return REDACTED


def secrets_in(text: str) -> frozenset[str]:
    """The secret values `redact_secrets` hides in `text` (those of at least
    `MIN_KNOWN_SECRET_CHARS`), to hide them where they were copied on their own."""
    found: set[str] = set()

    def record(value: str) -> str:
        found.add(value)
        return REDACTED

    _redact(text, record)
    return frozenset(
        value for value in found if len(value) >= MIN_KNOWN_SECRET_CHARS and REDACTED not in value
    )


def redact_secrets(text: str, known: Collection[str] = ()) -> str:
    """Replace every secret this module recognises in `text`, and every `known` secret (of
    `MIN_KNOWN_SECRET_CHARS` or more; see `secrets_in`), with `[REDACTED]`.

    Names stay visible: `password = "[REDACTED]"`, `postgres://app:[REDACTED]@db/prod`,
    `Authorization: Bearer [REDACTED]`. Idempotent.
    """
    if not text:
        return text
    for secret in sorted(known, key=len, reverse=True):
        if len(secret) >= MIN_KNOWN_SECRET_CHARS and secret in text:
            text = text.replace(secret, REDACTED)
    return _redact(text, _replace)
