"""The password rules, in one place for sign-up, change and reset.

Rules people understand (NIST SP 800-63B): long enough, not absurdly long,
not one of the commonest passwords, not your username or email address.
No composition rules (a digit, a symbol): they make passwords harder to
remember without making them harder to guess.
"""
from __future__ import annotations

from flask import current_app
from werkzeug.security import check_password_hash

from ..errors import ValidationError

#: The commonest passwords of the public breach lists (lower-cased), plus this site's obvious ones.
COMMON_PASSWORDS = frozenset("""
123456 123456789 12345678 1234567890 12345 1234567 qwerty password password1 password12 password123
password1234 passw0rd p@ssw0rd p@ssword 111111 000000 123123 abc123 abcd1234 1q2w3e4r 1q2w3e4r5t
qwerty123 qwertyuiop qwerty1 asdfghjk asdfghjkl zxcvbnm iloveyou iloveyou1 sunshine princess admin
admin123 administrator welcome welcome1 welcome123 letmein letmein1 monkey dragon football baseball
superman batman trustno1 master michael shadow mustang jennifer starwars whatever freedom computer
charlie jordan23 hello123 123qwe 1qaz2wsx zaq12wsx 654321 7777777 88888888 99999999 11111111
12341234 123321 987654321 987654321a changeme changeme1 secret secret123 default test1234 testtest
internet login123 pokemon cookie summer2024 winter2024 spring2024 autumn2024 summer2025 winter2025
access access123 support support123 community community1 letmein123 qazwsxedc google
""".split())


def min_length() -> int:
    return int(current_app.config.get("PASSWORD_MIN_LENGTH", 8))


MAX_LENGTH = 256


def validate(password: str, *, username: str = "", email: str = "", field: str = "password") -> None:
    """Raise ``ValidationError`` (with ``field``) naming the first rule ``password`` breaks."""
    password = password or ""
    lowered = password.lower()
    if len(password) < min_length():
        raise ValidationError(f"Passwords must be at least {min_length()} characters.", field=field)
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"Passwords can be at most {MAX_LENGTH} characters.", field=field)
    if lowered in COMMON_PASSWORDS:
        raise ValidationError("That password is one of the most common ones and is guessed first. "
                              "Choose another (a few unrelated words work well).", field=field)
    name = (username or "").strip().lower()
    address = (email or "").strip().lower()
    local = address.partition("@")[0]
    if (name and name in lowered and len(name) * 2 >= len(lowered)) or (address and lowered == address) \
            or (len(local) >= 3 and lowered == local):
        raise ValidationError("Your password must not be your username or email address.", field=field)


def matches(password_hash: str, password: str) -> bool:
    """True when ``password`` is the one hashed in ``password_hash``."""
    return bool(password_hash) and check_password_hash(password_hash, password or "")
