"""Configuration defaults.

Every setting here can be overridden by ``instance/config.py`` and then by an
environment variable of the same name (parsed as JSON when it looks like
JSON, so ``DEFLECTION_HOLDOUT=0.1`` and ``RANKS='[[1, "New"]]'`` both work).
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from . import config_checks

#: Points a reputation event is worth, by reason.  Stack Overflow's rules.
REPUTATION_POINTS = {
    "question_upvoted": 5,
    "answer_upvoted": 10,
    "post_downvoted": -2,
    "downvote_cast": -1,
    "answer_accepted": 15,
    "accepted_answer": 2,
    "idea_upvoted": 1,
    "idea_delivered": 25,
    "answer_promoted": 10,
    #: A confirmed deflection that held, to the accepted answer's author (docs/metrics.md).
    "deflection_helped": 2,
}

#: Reasons whose positive points count toward the daily cap.
REPUTATION_CAPPED_REASONS = ["question_upvoted", "answer_upvoted", "idea_upvoted", "deflection_helped"]


class Defaults:
    SITE_NAME = "Support Community"
    #: Public base URL for links built outside a request (mail, webhooks, exports).
    SITE_URL: str | None = None
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: None: Secure when PREFERRED_URL_SCHEME is "https" (set True/False to decide yourself).
    SESSION_COOKIE_SECURE: bool | None = None
    REMEMBER_COOKIE_SECURE: bool | None = None
    PREFERRED_URL_SCHEME = "http"
    #: With PREFERRED_URL_SCHEME "https", responses carry HSTS for this long (0: no HSTS header).
    HSTS_SECONDS = 31536000
    #: Behind a load balancer or reverse proxy: how many proxies set each X-Forwarded-* header
    #: (werkzeug's ProxyFix).  0 trusts none: the header is ignored, as it must be when clients
    #: can reach the app servers directly.
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0
    PROXY_FIX_X_PORT = 0
    PROXY_FIX_X_PREFIX = 0
    #: Log one line per request (logger ``community.request``: request id, status, time taken).
    REQUEST_LOG = True

    #: werkzeug's password hash method; ``None`` is werkzeug's (strong) default.
    #: Tests set a cheap one, since they create hundreds of accounts.
    PASSWORD_HASH_METHOD: str | None = None

    # Content limits, enforced in services so pages and API agree.
    TITLE_MIN_LENGTH = 10
    TITLE_MAX_LENGTH = 150
    BODY_MIN_LENGTH = 20
    BODY_MAX_LENGTH = 30000
    REPLY_MIN_LENGTH = 2
    MAX_TAGS = 5
    TAG_MAX_LENGTH = 30
    PAGE_SIZE = 20

    # Reputation.
    REPUTATION_POINTS = REPUTATION_POINTS
    REPUTATION_CAPPED_REASONS = REPUTATION_CAPPED_REASONS
    REPUTATION_DAILY_CAP = 200
    #: Rank names by the reputation at which they start.
    RANKS = [
        [1, "Newcomer"],
        [50, "Contributor"],
        [200, "Regular"],
        [1000, "Trusted"],
        [5000, "Expert"],
        [20000, "Legend"],
    ]
    #: Privileges by the reputation that unlocks them.  Moderators and admins have all.
    PRIVILEGES = {
        "vote_up": 1,
        "flag": 15,
        "vote_down": 125,
        "edit_others": 2000,
    }

    # Fast pages (community/page_cache.py): whole pages kept for anonymous readers, thrown
    # away by any write to a table a page shows; in Redis with REDIS_URL, else in memory.
    PAGE_CACHE = True
    PAGE_CACHE_SECONDS = 60
    PAGE_CACHE_MAX_ENTRIES = 2000
    #: Tables whose writes change no page an anonymous reader sees.
    PAGE_CACHE_IGNORE_TABLES = [
        "thread_views", "ask_sessions", "ask_events", "ask_refusals", "api_tokens", "password_resets",
        "notifications", "outbox", "notification_preferences", "thread_subscriptions", "category_subscriptions",
        "tag_subscriptions", "webhook_attempts",
        "audit_log", "search_evidence", "search_queue", "alembic_version",
    ]
    #: Tables whose writes change no page kept for a member (page_cache_members.py): a write to
    #: any other moves the members generation on (PAGE_CACHE_IGNORE_TABLES but these are shown
    #: only to members: notifications, subscriptions, ask sessions...).
    MEMBER_PAGE_IGNORE_TABLES = [
        "thread_views", "api_tokens", "password_resets", "outbox", "webhook_attempts", "audit_log",
        "search_evidence", "search_queue", "alembic_version",
    ]
    #: Members' whole pages kept in each process, per member and session; 0: drawn every time.
    MEMBER_PAGE_CACHE_ENTRIES = 300
    #: Post cards kept in each process, by everything they show (views/post_cards.py); 0: drawn every time.
    POST_CARD_CACHE_ENTRIES = 5000
    #: Thread views are written in batches (services/forum/view_counts.py): every this many
    #: seconds per worker, or once this many are waiting.  0: at the end of each request.
    VIEW_COUNT_FLUSH_SECONDS = 10
    VIEW_COUNT_FLUSH_MAX = 1000

    # Rate limits (Flask-Limiter syntax).  REDIS_URL shares them across workers.
    REDIS_URL: str | None = None
    #: Every key this site writes in Redis starts with it (sites, or test runs, sharing one Redis).
    REDIS_KEY_PREFIX = "community"
    RATELIMIT_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    # Successful sign-ups per address (an office shares one), and failed attempts
    # (a taken name, mistyped passwords), which are slowed down on their own.
    REGISTER_RATE_LIMIT = "10 per hour;50 per day"
    REGISTER_FAILURE_RATE_LIMIT = "10 per 10 minutes"
    POST_RATE_LIMIT = "20 per minute;200 per hour"
    UPLOAD_RATE_LIMIT = "10 per minute;60 per hour"
    PREVIEW_RATE_LIMIT = "60 per minute;600 per hour"
    VOTE_RATE_LIMIT = "60 per minute"
    SUGGEST_RATE_LIMIT = "120 per minute"

    # Accounts (docs/accounts.md).
    PASSWORD_MIN_LENGTH = 8
    #: Wrong current passwords on the settings pages, per member.
    PASSWORD_CHANGE_RATE_LIMIT = "10 per hour"
    #: How long the link that confirms a new email address works.
    EMAIL_CHANGE_MAX_AGE_HOURS = 24
    #: Forgot password: the link's life, and requests per address and per client address.
    PASSWORD_RESET_MAX_AGE_MINUTES = 60
    FORGOT_ADDRESS_RATE_LIMIT = "3 per hour;10 per day"
    FORGOT_IP_RATE_LIMIT = "10 per hour;50 per day"
    #: "My data" downloads per account (each reads every table the member appears in).
    DATA_EXPORT_RATE_LIMIT = "10 per hour"
    #: Avatars are stored as a square of this many pixels a side (cropped from the centre).
    AVATAR_SIZE = 256
    #: Single sign-on starts and callbacks per client address (each one costs the provider a request).
    SSO_RATE_LIMIT = "20 per minute;200 per hour"
    #: How long the mail that confirms linking a single sign-on identity to an account works.
    SSO_LINK_MAX_AGE_HOURS = 24

    # Single sign-on with an OpenID Connect provider (docs/accounts.md, "Single sign-on").
    #: The provider's issuer URL; its /.well-known/openid-configuration is read at the first
    #: sign-in.  None: no single sign-on.
    OIDC_ISSUER: str | None = None
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: str | None = None
    OIDC_SCOPES = "openid email profile"
    #: The button's text on the login page (None: "Sign in with your company account").
    OIDC_BUTTON_LABEL: str | None = None
    #: Members sign in only through the provider (no password form, no local sign-up); staff
    #: keep their password at /login?with_password=1.
    OIDC_ONLY = False
    #: The claim that says the provider verified the email (accounts are created or joined only then);
    #: Entra ID sends ``xms_edov`` (an optional claim) instead of ``email_verified``.
    OIDC_EMAIL_VERIFIED_CLAIM = "email_verified"
    #: The ID-token claim holding the person's groups or roles (a string or a list), and what
    #: they map to here, e.g. {"support": "agent", "pm": "product"}: the first entry whose key
    #: is in the claim wins.  No claim: roles are left to the admins.
    OIDC_ROLE_CLAIM: str | None = None
    OIDC_ROLE_MAP: dict = {}

    # Mail (community/mail.py; docs/accounts.md, "Mail").
    #: "smtp" (the default when MAIL_SERVER is set), "file" (.eml files under MAIL_FILE_DIR, the
    #: default without a server) or "log".
    MAIL_BACKEND: str | None = None
    MAIL_SERVER: str | None = None
    #: None = 25 (465 with MAIL_USE_SSL).
    MAIL_PORT: int | None = None
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    #: The From header, e.g. "Support Community <community@example.com>".
    MAIL_FROM: str | None = None
    #: Where the file backend writes; None = instance/mail/.
    MAIL_FILE_DIR: str | None = None
    MAIL_TIMEOUT_SECONDS = 10
    MAIL_MAX_ATTEMPTS = 8
    #: Retry delays: base * 2**(attempt-1), capped (30 s, 1 min, 2 min, ... 1 h).
    MAIL_BACKOFF_SECONDS = 30.0
    MAIL_BACKOFF_MAX_SECONDS = 3600.0
    #: A claim older than this is considered abandoned (the worker died) and retaken.
    MAIL_CLAIM_TIMEOUT_SECONDS = 300
    #: Notification mail throttling: at most one mail per thread per this many minutes per person
    #: (later posts are batched into the next one), and at most this many notification mails per
    #: person per day (the rest stay in-app).  Resets and address confirmations are never held back.
    MAIL_THREAD_INTERVAL_MINUTES = 60
    MAIL_DAILY_LIMIT_PER_USER = 40
    #: Notification fan-out (services/fanout.py): a reply's or new question's notifications and
    #: their mail are written after its commit, by a background thread in each process.  None: on
    #: under TESTING (applied in the request, right after its commit), off otherwise.
    NOTIFY_FANOUT_SYNC: bool | None = None
    #: Seconds between each process's looks for fan-outs no wake-up announced (a worker that died
    #: after its commit); the bound on a notification's delay then.
    NOTIFY_FANOUT_POLL_SECONDS = 2.0
    #: Seconds the applier waits after a commit woke it, so the fan-outs of that moment are applied
    #: together (one transaction per thread's rows); a notification arrives that much later.
    NOTIFY_FANOUT_GATHER_SECONDS = 0.1
    #: Whether serving processes run the applier (False: only `flask mail send` applies them).
    NOTIFY_FANOUT_APPLIER = True
    #: A fan-out whose handler fails is retried after base * 2**(attempt-1) s, kept with its error after this many.
    NOTIFY_FANOUT_BACKOFF_SECONDS = 5.0
    NOTIFY_FANOUT_MAX_ATTEMPTS = 8
    #: Reminders (``flask mail reminders``, cron): the asker of a thread with answers but none
    #: accepted after this many days is reminded once; a question with no reply after this many
    #: hours is offered once to the members watching its category or tags.
    ACCEPT_REMINDER_DAYS = 3
    UNANSWERED_NOTIFY_HOURS = 24
    #: The reminder's "accept this answer" links (no sign-in needed, once) work this many days.
    ACCEPT_LINK_MAX_AGE_DAYS = 14
    #: Reply by email: notification mails carry ``Reply-To: <local>+TOKEN@<domain>`` (None: the
    #: domain of MAIL_FROM).  ``flask mail receive`` posts what comes back; a token works this long.
    MAIL_REPLY_LOCAL_PART = "reply"
    MAIL_REPLY_DOMAIN: str | None = None
    MAIL_REPLY_MAX_AGE_DAYS = 30

    # Search.
    SEARCH_BACKEND = "whoosh"
    SEARCH_INDEX_DIR: str | None = None
    #: `flask search learn` reads the ask sessions of this many last days (docs/search.md).
    SEARCH_LEARN_DAYS = 730
    #: Documents the bulk index writer of `flask import` holds before a commit.
    SEARCH_BULK_COMMIT_EVERY = 20000
    #: Whoosh subprocesses for bulk indexing (1: one writer, usually faster; N > 1: Whoosh's MpWriter).
    SEARCH_IMPORT_PROCS = 1
    #: `flask import` writes the Whoosh index in a child process while it inserts rows (False: in-process).
    SEARCH_IMPORT_BACKGROUND = True
    #: Whoosh: megabytes of decoded long posting lists (common stems) each process keeps (0: none).
    SEARCH_POSTINGS_CACHE_MB = 64
    #: Whoosh: a gunicorn worker reads each segment's lengths and typo term sets as it starts
    #: (gunicorn.conf.py ``post_worker_init``), not in its first visitor's request.
    SEARCH_WARM_ON_START = True
    #: PostgreSQL backend: seconds a process keeps its snapshot of word frequencies (common words).
    SEARCH_PG_STATS_SECONDS = 600
    #: Apply the indexing queue in the request, right after its commit (search/queue.py; on
    #: PostgreSQL search the queue holds the updates of existing documents).
    #: None: on under TESTING (a test searches right after posting), off otherwise (a background
    #: thread per process applies it, off the request path).
    SEARCH_INDEX_SYNC: bool | None = None
    #: Seconds between each process's looks at the indexing queue for rows no wake-up
    #: announced (a worker that died after its commit); the bound on a search's delay then.
    SEARCH_QUEUE_POLL_SECONDS = 2.0
    #: Seconds the indexing queue's applier waits after a commit woke it, so the commits of that
    #: moment share one round (Whoosh: one index commit); a post is searchable that much later
    #: (0: a round per wake-up).
    SEARCH_QUEUE_GATHER_SECONDS = 0.1

    # Import (`flask import`).
    #: Worker processes rendering Markdown (0: one per CPU, at most 4; 1: none).
    IMPORT_WORKERS = 0

    # Deflection.
    DEFLECTION_INFERRED_MINUTES = 30
    DEFLECTION_COST_PER_CONTACT = 25.0
    DEFLECTION_CURRENCY = "USD"
    # -- deflection (branch deflection): sessions, holdout, contact form; see docs/metrics.md
    #: An ask session ends after this many minutes without activity.
    DEFLECTION_SESSION_MINUTES = 30
    #: Share of ask sessions held out from suggestions (0 = no holdout).
    DEFLECTION_HOLDOUT = 0.05
    #: Fewer holdout sessions than this in a range: "not enough data yet".
    DEFLECTION_MIN_HOLDOUT = 100
    #: A contact counts for the visitor's latest session started at most this many days before.
    DEFLECTION_WINDOW_DAYS = 7
    #: Anti-gaming (docs/metrics.md, "Numbers that hold").
    DEFLECTION_EXCLUDE_AUTOMATED = True
    DEFLECTION_MAX_CONFIRMATIONS_PER_ADDRESS_HOUR = 20
    DEFLECTION_NEW_VISITOR_RATE_LIMIT = "20 per minute;120 per hour"
    DEFLECTION_OPEN_RATE_LIMIT = "30 per minute;300 per hour"
    DEFLECTION_CONFIRM_RATE_LIMIT = "5 per minute;30 per hour"
    DEFLECTION_HOLDOUT_SALT = "ask-holdout-v1"
    #: User-agent substrings of bots (None = the built-in list in services/deflection/visitors.py).
    DEFLECTION_BOT_PATTERNS: list | None = None
    DEFLECTION_VISITOR_COOKIE = "community_visitor"
    #: Inferred deflections are credited by `flask deflection credit` (cron) and, every this many
    #: seconds per process, after a request (None: 300, off under TESTING; 0: never after a request).
    DEFLECTION_CREDIT_EVERY_SECONDS: int | None = None
    #: At most this many sessions judged after one request (the cron job has no limit).
    DEFLECTION_CREDIT_AFTER_REQUEST = 200
    CONTACT_RATE_LIMIT = "5 per 10 minutes;20 per day"

    # Moderation: flags and new-account limits (see services/flags.py, services/spam.py).
    #: Distinct members whose spam/offensive/off-topic flags hide a post pending review (0: never).
    FLAGS_TO_HIDE = 3
    NEW_ACCOUNT_DAYS = 2
    NEW_ACCOUNT_REPUTATION = 10
    NEW_ACCOUNT_LINKS_PER_POST = 2
    NEW_ACCOUNT_POSTS_PER_HOUR = 5
    AUDIT_PAGE_SIZE = 50

    # Knowledge base (docs/kb.md).
    ARTICLE_FEEDBACK_RATE_LIMIT = "30 per hour"
    #: An article is listed for review under this helpful rate once it has this many answers...
    KB_REVIEW_HELPFUL_BELOW = 0.5
    KB_REVIEW_MIN_VOTES = 5
    #: ...or when it was not updated for this many days...
    KB_REVIEW_AFTER_DAYS = 365
    #: ...or when, of the last 90 days' ask sessions that opened it from a suggestion (at least
    #: KB_REVIEW_MIN_VOTES), this share or more went on to contact support or post a question.
    KB_REVIEW_CONTACT_ABOVE = 0.5

    # Image uploads (docs/uploads.md).
    #: Where uploaded images are stored (default: instance/uploads)...
    UPLOAD_DIR: str | None = None
    #: ...or, when a bucket is named, an S3-compatible object store that every app server
    #: shares (docs/uploads.md; needs boto3: ``pip install -e '.[s3]'``).  Unset keys use
    #: boto3's own credential chain (AWS_* environment variables, an instance role).
    UPLOAD_S3_BUCKET: str | None = None
    UPLOAD_S3_ENDPOINT_URL: str | None = None
    UPLOAD_S3_REGION: str | None = None
    UPLOAD_S3_PREFIX = "uploads/"
    UPLOAD_S3_ACCESS_KEY_ID: str | None = None
    UPLOAD_S3_SECRET_ACCESS_KEY: str | None = None
    #: "path" for stores that do not take the bucket in the host name (MinIO, most self-hosted).
    UPLOAD_S3_ADDRESSING_STYLE = "auto"
    UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    #: No request body may be larger (413): an upload and its form fields, with room to spare.
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    #: Larger images are refused before decoding (a decompression bomb is a small file).
    UPLOAD_MAX_PIXELS = 40_000_000
    #: Stored images are scaled down to fit this many pixels on their longer side.
    UPLOAD_MAX_SIDE = 2000
    #: Wider images also get a thumbnail this wide, shown in posts and linking to the full image.
    UPLOAD_THUMB_WIDTH = 800

    #: The time zone whose days the analytics count by (an IANA name; docs/metrics.md).
    REPORT_TIME_ZONE = "UTC"

    # Demo content.
    SEED_DEMO = False

    # Ideas (docs/ideas.md): trending = sum over votes of 0.5 ** (age_days / half-life).
    IDEA_TRENDING_HALF_LIFE_DAYS = 7
    #: Votes older than this are left out of the trending sum (worth < 0.0001 at the default).
    IDEA_TRENDING_WINDOW_DAYS = 120
    #: Active votes each member holds (None = unlimited).  A vote comes back when its idea is
    #: delivered, declined or merged away (docs/ideas.md, Vote budgets).
    IDEA_VOTE_BUDGET: int | None = None

    # Tickets and escalation (branch tickets).
    #: A thread with no reply after this many hours enters the unresolved queue.
    UNRESOLVED_NO_REPLY_HOURS = 24
    #: A thread with no accepted answer after this many days enters the unresolved queue.
    UNRESOLVED_NO_ACCEPT_DAYS = 7
    #: The agent queue shows each ticket's age against this first-response target.
    TICKET_RESPONSE_TARGET_HOURS = 24
    #: Optional outbound webhook (a helpdesk mirroring tickets); off when no URL is set.
    TICKET_WEBHOOK_URL: str | None = None
    TICKET_WEBHOOK_SECRET: str | None = None
    WEBHOOK_MAX_ATTEMPTS = 8
    #: Retry delays: base * 2**(attempt-1), capped at WEBHOOK_BACKOFF_MAX_SECONDS.
    WEBHOOK_BACKOFF_SECONDS = 30.0
    WEBHOOK_BACKOFF_MAX_SECONDS = 3600.0
    #: A claim older than this is considered abandoned (the worker died) and retaken.
    WEBHOOK_CLAIM_TIMEOUT_SECONDS = 300
    WEBHOOK_TIMEOUT_SECONDS = 10


def _parse_env(value: str):
    """Environment values are strings; JSON-looking ones become data."""
    stripped = value.strip()
    if stripped[:1] in "[{" or stripped in ("true", "false", "null") or _is_number(stripped):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_config(app, overrides: dict | None) -> None:
    """Defaults, then instance/config.py, then environment, then test overrides."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for key in list(app.config.keys()) + ["DATABASE_URL"]:
        if key in os.environ:
            app.config[key] = _parse_env(os.environ[key])
    if overrides:
        app.config.update(overrides)

    instance = Path(app.instance_path)
    if app.config.get("DATABASE_URL") and not (overrides or {}).get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'community.db'}"
    if not app.config.get("UPLOAD_DIR"):
        app.config["UPLOAD_DIR"] = str(instance / "uploads")
    if not app.config.get("SEARCH_INDEX_DIR"):
        app.config["SEARCH_INDEX_DIR"] = str(instance / "search-index")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _persistent_secret(instance)
    config_checks.check(app.config)
    https = app.config.get("PREFERRED_URL_SCHEME") == "https"
    #: Cookies whose Secure flag nobody set: security_headers also marks them Secure on a request
    #: that arrived over https (directly, or through a proxy that PROXY_FIX_X_PROTO trusts).
    app.config["COOKIES_SECURE_BY_REQUEST"] = [
        key for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE") if app.config.get(key) is None]
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app.config.get(key) is None:  # not set: Secure exactly when the site is served over https
            app.config[key] = https


def _persistent_secret(instance: Path) -> str:
    """Generate a secret key on first run and keep it in the instance folder."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    try:
        path.chmod(0o600)
    except OSError:
        pass
    return key
