"""Settings checked at start-up: a bad value stops the app with a message naming the setting,
instead of failing at the first request that needs it (a sign-in, a report, a vote).
"""
from __future__ import annotations


def check(config) -> None:
    """Every start-up check, on the loaded configuration."""
    vote_budget(config.get("IDEA_VOTE_BUDGET"))
    time_zone(config.get("REPORT_TIME_ZONE"))
    oidc(config)
    upload_storage(config)


def upload_storage(config) -> None:
    """Refuse to start with an S3 bucket named but no way to reach it: boto3 missing or a
    malformed endpoint or addressing style (reaching the bucket is ``flask check``'s job)."""
    from urllib.parse import urlsplit

    if not config.get("UPLOAD_S3_BUCKET"):
        return
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise ValueError("UPLOAD_S3_BUCKET is set but boto3 is not installed: pip install -e '.[s3]'.") from None
    endpoint = config.get("UPLOAD_S3_ENDPOINT_URL")
    if endpoint and (urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).netloc):
        raise ValueError(f"UPLOAD_S3_ENDPOINT_URL must be an http(s) address, not {endpoint!r}.")
    if config.get("UPLOAD_S3_ADDRESSING_STYLE") not in ("auto", "path", "virtual"):
        raise ValueError("UPLOAD_S3_ADDRESSING_STYLE must be auto, path or virtual, "
                         f"not {config.get('UPLOAD_S3_ADDRESSING_STYLE')!r}.")


def vote_budget(value) -> None:
    """Refuse to start with a vote budget that is not a positive whole number (or unset)."""
    if value in (None, "", 0):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"IDEA_VOTE_BUDGET must be a positive whole number or unset, not {value!r}.")


def oidc(config) -> None:
    """Refuse to start with a single sign-on setting that would fail at the first sign-in."""
    from urllib.parse import urlsplit

    from .models.user import ROLES

    issuer = config.get("OIDC_ISSUER")
    if not issuer:
        if config.get("OIDC_ONLY"):
            raise ValueError("OIDC_ONLY needs OIDC_ISSUER (and OIDC_CLIENT_ID, OIDC_CLIENT_SECRET) set.")
        return
    parts = urlsplit(str(issuer))
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not isinstance(issuer, str) or not parts.hostname or not (
            parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise ValueError(f"OIDC_ISSUER must be the provider's https:// URL (http:// only on localhost), "
                         f"not {issuer!r}.")
    for key in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"):
        if not isinstance(config.get(key), str) or not config.get(key).strip():
            raise ValueError(f"{key} must be set when OIDC_ISSUER is (the provider gives both).")
    scopes = config.get("OIDC_SCOPES")
    if not isinstance(scopes, str) or "openid" not in scopes.split():
        raise ValueError(f"OIDC_SCOPES must be a space-separated string that includes 'openid', not {scopes!r}.")
    label = config.get("OIDC_BUTTON_LABEL")
    if label is not None and (not isinstance(label, str) or not label.strip() or len(label) > 80):
        raise ValueError(f"OIDC_BUTTON_LABEL must be a short text (1-80 characters) or unset, not {label!r}.")
    claim, mapping = config.get("OIDC_ROLE_CLAIM"), config.get("OIDC_ROLE_MAP")
    if claim is not None and (not isinstance(claim, str) or not claim.strip()):
        raise ValueError(f"OIDC_ROLE_CLAIM must be a claim name or unset, not {claim!r}.")
    if not isinstance(mapping, dict):
        raise ValueError(f"OIDC_ROLE_MAP must be a mapping of claim values to roles, not {mapping!r}.")
    if mapping and not claim:
        raise ValueError("OIDC_ROLE_MAP needs OIDC_ROLE_CLAIM: the claim whose values it maps.")
    for value, role in mapping.items():
        if role not in ROLES:
            raise ValueError(f"OIDC_ROLE_MAP maps {value!r} to {role!r}; roles are: {', '.join(ROLES)}.")


def time_zone(name) -> None:
    """Refuse to start with a reporting time zone the system does not know."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"REPORT_TIME_ZONE must be an IANA time zone such as 'UTC' or "
                         f"'Europe/Paris', not {name!r}.") from None
