"""Unit tests for ghostwright.telemetry.redact: what is hidden, what is kept, and idempotence."""

from __future__ import annotations

import pytest

from ghostwright.telemetry.redact import (
    MIN_KNOWN_SECRET_CHARS,
    REDACTED,
    redact_secrets,
    secrets_in,
)

# Fake but well-formed credentials, assembled so that this file itself trips no secret scanner.
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_TEMP_KEY = "ASIA" + "Y34FZKBOKMUTVV7A"
GITHUB_CLASSIC = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_OAUTH = "gho_" + "16C7e42F292c6912E7710c838347Ae178B4a"
GITHUB_FINE = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_USER = "xoxp-" + "123456789012-123456789012-123456789012-abcdef0123456789abcdef0123456789"
OPENAI = "sk-" + "proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
OPENAI_LEGACY = "sk-" + "T3BlbkFJ7a8b9c0d1e2f3g4h5i6j7k8l9m0n1o2p"
ANTHROPIC = "sk-" + "ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe-dCbA_0123456789abcdef"
GOOGLE = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
STRIPE = "sk_" + "live_4eC39HqLyjWDarjtT1zdp7dc"
HUGGING_FACE = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n" * 3
PEM_BEGIN = "-----BEGIN RSA " + "PRIVATE KEY-----"
PEM_END = "-----END RSA " + "PRIVATE KEY-----"
PEM = f"{PEM_BEGIN}\n{PEM_BODY}{PEM_END}"
OPENSSH_PEM = (
    "-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
    "-----END OPENSSH " + "PRIVATE KEY-----"
)

TOKENS = [
    AWS_KEY,
    AWS_TEMP_KEY,
    GITHUB_CLASSIC,
    GITHUB_OAUTH,
    GITHUB_FINE,
    SLACK,
    SLACK_USER,
    OPENAI,
    OPENAI_LEGACY,
    ANTHROPIC,
    GOOGLE,
    STRIPE,
    HUGGING_FACE,
    JWT,
]


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize(
    "template",
    [
        "{}",
        "key = {}",
        "client = Client('{}')",
        'curl -H "X-Api-Key: {}" https://api.example.com',
        "export SOMETHING={}",
        "# pasted by mistake: {}, do not commit",
        '{{"value": "{}"}}',
    ],
)
def test_known_token_formats_are_redacted_anywhere(token, template):
    text = template.format(token)
    redacted = redact_secrets(text)
    assert token not in redacted
    assert REDACTED in redacted
    assert redacted == template.format(REDACTED) or "[REDACTED]" in redacted


# (input, expected output): the secret goes, the name and the shape stay.
REDACTED_CASES = [
    # Python
    ('password = "hunter2"', 'password = "[REDACTED]"'),
    ("db_password = 'correct horse'", "db_password = '[REDACTED]'"),
    ('SECRET_KEY = "django-insecure-0123"', 'SECRET_KEY = "[REDACTED]"'),
    ('api_key: str = "abc123"', 'api_key: str = "[REDACTED]"'),
    (
        'connect(host="db", password="s3cr3t", port=5432)',
        'connect(host="db", password="[REDACTED]", port=5432)',
    ),
    ('settings["api_key"] = "abc123"', 'settings["api_key"] = "[REDACTED]"'),
    ('os.environ["GITHUB_TOKEN"] = "tok-123"', 'os.environ["GITHUB_TOKEN"] = "[REDACTED]"'),
    ('auth_token = b"raw-bytes"', 'auth_token = b"[REDACTED]"'),
    ('if password == "letmein":', 'if password == "[REDACTED]":'),
    (
        'AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
        'AWS_SECRET_ACCESS_KEY = "[REDACTED]"',
    ),
    ('client_secret="abc"', 'client_secret="[REDACTED]"'),
    ('private_key = "0xdeadbeef"', 'private_key = "[REDACTED]"'),
    # JavaScript / TypeScript
    ('const apiKey = "abc123";', 'const apiKey = "[REDACTED]";'),
    ("let authToken = 'xyz';", "let authToken = '[REDACTED]';"),
    (
        "const config = { password: `p4ss`, user: 'bob' };",
        "const config = { password: `[REDACTED]`, user: 'bob' };",
    ),
    ('this.secret = "shh";', 'this.secret = "[REDACTED]";'),
    # Go
    ('password := "hunter2"', 'password := "[REDACTED]"'),
    (
        'cfg := Config{Password: "hunter2", Host: "db"}',
        'cfg := Config{Password: "[REDACTED]", Host: "db"}',
    ),
    ('const Token = "abc"', 'const Token = "[REDACTED]"'),
    # Ruby, PHP, Java
    (':password => "hunter2"', ':password => "[REDACTED]"'),
    ('$db_pass = "hunter2";', '$db_pass = "[REDACTED]";'),
    ('String passwd = "hunter2";', 'String passwd = "[REDACTED]";'),
    # JSON
    ('{"password": "hunter2", "user": "bob"}', '{"password": "[REDACTED]", "user": "bob"}'),
    ('{"apiKey":"abc123"}', '{"apiKey":"[REDACTED]"}'),
    ('{"credentials": "user:pw"}', '{"credentials": "[REDACTED]"}'),
    # YAML
    ("password: hunter2", "password: [REDACTED]"),
    ("  api_key: abc123  # rotate me", "  api_key: [REDACTED]  # rotate me"),
    ("- secret: 'shh'", "- secret: '[REDACTED]'"),
    ('auth: "Basic dXNlcjpwYXNz"', 'auth: "[REDACTED]"'),
    (
        "db:\n  password: hunter2\n  host: localhost",
        "db:\n  password: [REDACTED]\n  host: localhost",
    ),
    # .env and shell
    ("DB_PASSWORD=hunter2", "DB_PASSWORD=[REDACTED]"),
    ("export API_TOKEN=abc123", "export API_TOKEN=[REDACTED]"),
    ('STRIPE_SECRET="abc"', 'STRIPE_SECRET="[REDACTED]"'),
    ("HOST=db\nPASSWD=hunter2\nPORT=5432", "HOST=db\nPASSWD=[REDACTED]\nPORT=5432"),
    # Connection strings
    (
        "postgres://app:s3cr3t@db.internal:5432/prod",
        "postgres://app:[REDACTED]@db.internal:5432/prod",
    ),
    (
        'url = "mysql+pymysql://root:pa55@localhost/db"',
        'url = "mysql+pymysql://root:[REDACTED]@localhost/db"',
    ),
    ("redis://:hunter2@cache:6379/0", "redis://:[REDACTED]@cache:6379/0"),
    (
        "mongodb+srv://admin:p@ss@cluster0.example.net/test",
        "mongodb+srv://admin:[REDACTED]@cluster0.example.net/test",
    ),
    ("amqp://guest:guest@rabbit:5672/", "amqp://guest:[REDACTED]@rabbit:5672/"),
    # Authorization headers
    ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer [REDACTED]"),
    (
        'headers = {"Authorization": "Bearer 0123456789abcdef"}',
        'headers = {"Authorization": "Bearer [REDACTED]"}',
    ),
    (
        'curl -H "authorization: token abc123" https://x',
        'curl -H "authorization: token [REDACTED]" https://x',
    ),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [REDACTED]"),
    ("sent Bearer Zm9vYmFyYmF6cXV4MTIzNDU2 upstream", "sent Bearer [REDACTED] upstream"),
    # PEM private keys
    (PEM, f"{PEM_BEGIN}\n[REDACTED]\n{PEM_END}"),
    (f"KEY = '''\n{PEM}\n'''", f"KEY = '''\n{PEM_BEGIN}\n[REDACTED]\n{PEM_END}\n'''"),
    (f"key = '''\n{PEM_BEGIN}\nMIIEow", f"key = '''\n{PEM_BEGIN}\n[REDACTED]"),
    (
        f"MIIEowIBAAKCAQEAu1SU1LfVL\nPHCozMxH2Mo4lgOE==\n{PEM_END}\n'''",
        f"[REDACTED]\n{PEM_END}\n'''",
    ),
    (OPENSSH_PEM, OPENSSH_PEM.split("\n")[0] + "\n[REDACTED]\n" + OPENSSH_PEM.split("\n")[-1]),
]


@pytest.mark.parametrize(("text", "expected"), REDACTED_CASES)
def test_secrets_are_redacted_and_names_kept(text, expected):
    assert redact_secrets(text) == expected


# Ordinary code that names secrets without containing one: nothing changes.
UNCHANGED_CASES = [
    "password_field = form.password",
    "token = next_token()",
    "def get_secret():",
    "def login(username, password):",
    "password = getpass.getpass()",
    "password = os.environ['DB_PASSWORD']",
    'password = os.environ["DB_PASSWORD"]',
    'api_key = os.getenv("API_KEY")',
    "self.token = token",
    "if not password:",
    "token_type = kind",
    "tokens = tokenizer(text)",
    "max_tokens = 128",
    'author = "Jane Doe"',
    'key = "user:42"',
    'password_label = "Enter your password"',
    'password = ""',
    'password = "[REDACTED]"',
    'password = "${DB_PASSWORD}"',
    'password = "<password>"',
    'password = "***"',
    "token: str",
    "api_key: str | None = None",
    "password: Optional[str] = None",
    "    auth: AuthConfig",
    "password: string;",
    "  token?: string;",
    "Password: cfg.Password,",
    "Password: password,",
    "password=get_password()",
    "PASSWORD=settings.password",
    "secret: ${SECRET_FROM_ENV}",
    "password: !vault |",
    'headers = {"Authorization": f"Bearer {token}"}',
    "Authorization: Bearer [REDACTED]",
    "Bearer tokens are sent in the Authorization header.",
    "https://example.com:8080/path@anchor",
    "git@github.com:owner/repo.git",
    "ssh://git@github.com/owner/repo",
    "postgres://localhost:5432/db",
    "risk-assessment-framework-for-teams",
    "sk-learn is not a package name",
    "for token in tokens:\n    yield token",
    'raise ValueError("invalid token")',
    "SELECT password_hash FROM users WHERE id = ?",
    "# set your password in the settings dialog",
    "",
]


@pytest.mark.parametrize("text", UNCHANGED_CASES)
def test_ordinary_code_is_unchanged(text):
    assert redact_secrets(text) == text


@pytest.mark.parametrize(
    "text",
    [text for text, _ in REDACTED_CASES]
    + [f"value = {token}" for token in TOKENS]
    + UNCHANGED_CASES,
)
def test_redaction_is_idempotent(text):
    once = redact_secrets(text)
    assert redact_secrets(once) == once


def test_several_secrets_in_one_text_are_all_redacted():
    text = (
        f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
        f"GITHUB = {GITHUB_CLASSIC}\n"
        "DATABASE_URL=postgres://app:s3cr3t@db/prod\n"
        f"{PEM}\n"
        'password = "hunter2"\n'
        "def main():\n    return 1\n"
    )
    redacted = redact_secrets(text)
    for secret in (AWS_KEY, GITHUB_CLASSIC, "s3cr3t", "MIIEow", "hunter2"):
        assert secret not in redacted
    assert "def main():\n    return 1\n" in redacted
    assert "DATABASE_URL=postgres://app:[REDACTED]@db/prod" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "word " * 50_000 + "." + PEM_END,
        "QUJD" * 50_000,
        "a." * 50_000 + "://",
        "x=" + "y" * 100_000 + " z",
        "token: " + "a b, " * 30_000,
        "password = '" + "a" * 100_000,
        "\n".join(["QUJDREVGR0g="] * 5_000) + "\n# end\n" + PEM_END,
    ],
    ids=["prose", "base64", "dots", "minified", "commas", "unclosed", "base64-lines"],
)
@pytest.mark.timeout(10)
def test_long_texts_do_not_make_redaction_crawl(text):
    """Redaction runs on every stored string in the writer thread; no input may make it crawl.
    A pattern that backtracked on one of these would run for minutes: the timeout fails it.
    None holds a secret: they come back as they were."""
    assert redact_secrets(text) == text


# -- secrets copied on their own ----------------------------------------------------------------

SEEN = (
    'password = "hunter2-correct-horse"\n'
    "DATABASE_URL=postgres://app:s3cr3t-db@db/prod\n"
    f"GITHUB = {GITHUB_CLASSIC}\n"
    f"{PEM}\n"
    'pin = "1234"\n'
    'user = "administrator"\n'
)


def test_secrets_in_lists_the_values_the_rules_hide() -> None:
    found = secrets_in(SEEN)
    assert {"hunter2-correct-horse", "s3cr3t-db", GITHUB_CLASSIC} <= found
    pem_lines = [line for line in PEM.splitlines() if "-----" not in line and line.strip()]
    assert pem_lines and set(pem_lines) <= found
    # Not a secret's name, or too short to search for on its own.
    assert "administrator" not in found and "1234" not in found
    assert all(len(value) >= MIN_KNOWN_SECRET_CHARS for value in found)
    assert secrets_in("def main():\n    return 1\n") == frozenset()


@pytest.mark.parametrize(
    "suggestion",
    [
        '  # "hunter2-correct-horse"',  # what the default model wrote on one machine
        "connect('app', 's3cr3t-db')",
        "login(hunter2-correct-horse)",
    ],
)
def test_a_known_secret_copied_on_its_own_is_redacted(suggestion: str) -> None:
    assert redact_secrets(suggestion) == suggestion  # nothing marks it as a secret here
    redacted = redact_secrets(suggestion, secrets_in(SEEN))
    assert "hunter2" not in redacted and "s3cr3t" not in redacted
    assert REDACTED in redacted
    assert redact_secrets(redacted, secrets_in(SEEN)) == redacted


def test_known_secrets_too_short_to_search_for_are_left_alone() -> None:
    assert redact_secrets("x = 1234 + admin", {"1234", "admin"}) == "x = 1234 + admin"
