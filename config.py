"""Configuration classes for Panel.

Every setting can be overridden by an environment variable named ``PANEL_<SETTING>``.
The embedded default (Development) runs on SQLite and a local storage folder; Production
refuses to start without a secret key and a database URL.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env(name: str, default=None):
    return os.environ.get(f"PANEL_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return default if value in (None, "") else int(value)


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL")
    STORAGE_DIR = _env("STORAGE_DIR", str(INSTANCE_DIR / "storage"))
    REDIS_URL = _env("REDIS_URL")
    # Background jobs (panel/core/jobs.py): a broker URL (else PANEL_REDIS_URL) makes the web
    # processes publish and `flask --app panel worker` run them; with neither, they run in a
    # thread of the web process. JOBS_MODE (broker, inprocess, eager) overrides the choice.
    QUEUE_URL = _env("QUEUE_URL")
    JOBS_MODE = _env("JOBS_MODE")
    # A running job whose heartbeat is older than this is taken to be lost with its worker.
    JOBS_STALE_SECONDS = _env_int("JOBS_STALE_SECONDS", 300)
    JOBS_REPUBLISH_SECONDS = _env_int("JOBS_REPUBLISH_SECONDS", 60)
    # Redis keys of the queue start with this (several deployments may share one Redis).
    JOBS_NAMESPACE = _env("JOBS_NAMESPACE", "panel-jobs")
    # Dramatiq re-delivers the messages of a worker silent for this long (it died).
    JOBS_BROKER_HEARTBEAT_MS = _env_int("JOBS_BROKER_HEARTBEAT_MS", 60_000)
    # A job running longer than this is stopped (and retried).
    JOBS_TIME_LIMIT_MS = _env_int("JOBS_TIME_LIMIT_MS", 30 * 60_000)
    # Scheduled kinds not run here (comma list, e.g. "trials.sync" with no internet access).
    JOBS_SCHEDULE_OFF = _env("JOBS_SCHEDULE_OFF", "")
    # In-process mode (make run) asks for the schedule's due jobs too, as a worker does.
    JOBS_INPROCESS_SCHEDULE = True
    # /healthz says "degraded" when the newest worker heartbeat is older than this (broker mode).
    JOBS_WORKER_STALE_SECONDS = _env_int("JOBS_WORKER_STALE_SECONDS", 60)
    # core.purge: temporary upload files and used/expired sign-in links older than this go.
    PURGE_TEMP_HOURS = _env_int("PURGE_TEMP_HOURS", 24)
    # core.purge: revoked or expired API tokens are kept on the account page this long.
    PURGE_API_TOKENS_DAYS = _env_int("PURGE_API_TOKENS_DAYS", 90)
    # core.purge: job rows done longer ago than this go (failed ones stay for the admin page).
    PURGE_JOBS_DAYS = _env_int("PURGE_JOBS_DAYS", 30)
    # Approving a record asks the queue to print its letters (panel/feedback/documents.py), so
    # sending them stores PDFs already laid out instead of laying them out in the request.
    PDF_PRERENDER = _env_bool("PDF_PRERENDER", True)
    # The public address of this deployment: links in e-mails are built from it, never from
    # the request's Host header (which an attacker controls).
    BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")

    SMTP_HOST = _env("SMTP_HOST")
    SMTP_PORT = _env_int("SMTP_PORT", 25)
    SMTP_USER = _env("SMTP_USER")
    SMTP_PASSWORD = _env("SMTP_PASSWORD")
    SMTP_STARTTLS = _env_bool("SMTP_STARTTLS", False)
    MAIL_FROM = _env("MAIL_FROM", "Panel <no-reply@panel.invalid>")
    # How long a sender holds an outbox row it claimed; after that the row counts as abandoned
    # (its sender died) and is sent again (panel/core/mail.py).
    MAIL_CLAIM_SECONDS = _env_int("MAIL_CLAIM_SECONDS", 600)

    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Sessions: the cookie only carries a random session id; the session itself lives in the
    # database so that logging out, changing a password or deactivating a user ends it everywhere.
    SESSION_IDLE_TIMEOUT = timedelta(minutes=_env_int("SESSION_IDLE_MINUTES", 30))
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=_env_int("SESSION_ABSOLUTE_HOURS", 12))
    SESSION_COOKIE_NAME = "panel_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 12 * 3600

    # Login throttling: per account (shared through the database) and per address (limiter).
    LOGIN_MAX_FAILURES = _env_int("LOGIN_MAX_FAILURES", 5)
    LOGIN_FAILURE_WINDOW = timedelta(minutes=_env_int("LOGIN_FAILURE_WINDOW_MINUTES", 15))
    LOGIN_LOCKOUT = timedelta(minutes=_env_int("LOGIN_LOCKOUT_MINUTES", 15))
    # Family access codes (panel/feedback/family.py): a lock-out per address (an IPv6 /64
    # counts as one address), and over all addresses a slow-down that never refuses a right
    # code: from SLOWDOWN_AFTER failures in the window every attempt waits SLOWDOWN_STEP
    # seconds more per failure, at most SLOWDOWN_MAX seconds.
    FAMILY_MAX_FAILURES = _env_int("FAMILY_MAX_FAILURES", 5)
    FAMILY_FAILURE_WINDOW = timedelta(minutes=_env_int("FAMILY_FAILURE_WINDOW_MINUTES", 15))
    FAMILY_LOCKOUT = timedelta(minutes=_env_int("FAMILY_LOCKOUT_MINUTES", 15))
    FAMILY_SLOWDOWN_AFTER = _env_int("FAMILY_SLOWDOWN_AFTER", 50)
    FAMILY_SLOWDOWN_STEP = float(_env("FAMILY_SLOWDOWN_STEP", "0.1"))
    FAMILY_SLOWDOWN_MAX = float(_env("FAMILY_SLOWDOWN_MAX", "3"))
    FAMILY_SESSION_TTL = timedelta(hours=_env_int("FAMILY_SESSION_HOURS", 2))
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_LOGIN = _env("RATELIMIT_LOGIN", "30 per minute")
    RATELIMIT_RESET = _env("RATELIMIT_RESET", "5 per minute")
    # The family's forms (code entry, follow-up question), per address (an IPv6 /64 is one).
    RATELIMIT_FAMILY = _env("RATELIMIT_FAMILY", "20 per minute")
    RATELIMIT_HEADERS_ENABLED = True

    PASSWORD_RESET_TTL = timedelta(minutes=_env_int("PASSWORD_RESET_MINUTES", 60))
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 1024
    TOTP_ISSUER = _env("TOTP_ISSUER", "Panel")

    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 2 * 1024**3)  # scan uploads stream to disk
    # Scan uploads (panel/imaging/uploads.py). The request limit is set before the body is read.
    IMAGING_MAX_REQUEST = _env_int("IMAGING_MAX_REQUEST", MAX_CONTENT_LENGTH)
    IMAGING_MAX_FILES = _env_int(
        "IMAGING_MAX_FILES", 2000
    )  # files (parts plus zip entries) in one request
    IMAGING_ZIP_MAX_ENTRIES = _env_int("IMAGING_ZIP_MAX_ENTRIES", 5000)
    IMAGING_ZIP_MAX_UNCOMPRESSED = _env_int("IMAGING_ZIP_MAX_UNCOMPRESSED", 4 * 1024**3)
    # Uncompressed/compressed, per entry and over the whole zip (a zip bomb is > 1000).
    IMAGING_ZIP_MAX_RATIO = _env_int("IMAGING_ZIP_MAX_RATIO", 200)
    # Entries and whole zips that expand to no more than this are never refused for their ratio.
    IMAGING_ZIP_RATIO_FLOOR = _env_int("IMAGING_ZIP_RATIO_FLOOR", 1024 * 1024)
    # Largest PNG/JPEG (width x height) that is decoded and re-encoded.
    IMAGING_MAX_PIXELS = _env_int("IMAGING_MAX_PIXELS", 50_000_000)
    # Images from hospital networks (issue 19; panel/imaging/routing.py, docs/imaging.md).
    # The DICOM node's own AE title and port (`flask --app panel dicom-listen` may override).
    DICOM_AE_TITLE = _env("DICOM_AE_TITLE", "PANEL")
    DICOM_PORT = _env_int("DICOM_PORT", 11112)
    # Hours an incoming study that matches no image route waits in quarantine before deletion.
    DICOM_QUARANTINE_HOURS = float(_env("DICOM_QUARANTINE_HOURS", "24"))
    # Largest study accepted from one association or STOW-RS request (bytes); larger: refused.
    DICOM_MAX_STUDY_BYTES = _env_int("DICOM_MAX_STUDY_BYTES", 4 * 1024**3)
    # Seconds the DICOM node waits for a silent peer (network and DIMSE) before it aborts the
    # association, keeping nothing of its studies.
    DICOM_NETWORK_TIMEOUT = _env_int("DICOM_NETWORK_TIMEOUT", 60)
    # A DICOMweb viewer to offer "open in viewer" on the case page: a URL with {dicomweb} (the
    # case's DICOMweb root) and {study} (a Study Instance UID) in it, e.g. an OHIF deployment.
    DICOMWEB_VIEWER_URL = _env("DICOMWEB_VIEWER_URL", "")
    # Origins (comma-separated, e.g. https://viewer.example.nhs.uk) of DICOMweb viewers served
    # elsewhere that may read a case's images from the browser (CORS on QIDO-RS/WADO-RS only).
    DICOMWEB_CORS_ORIGINS = _env("DICOMWEB_CORS_ORIGINS", "")
    # Text fields of an ordinary form: 1 MB is far beyond any referral (the longest field takes
    # 4000 characters); larger form bodies are refused with 413 before they are parsed.
    MAX_FORM_MEMORY_SIZE = 1024 * 1024
    API_RATELIMIT = _env("API_RATELIMIT", "600 per minute")  # per token
    # Largest request body the API reads; a full panel-case/1 document is a few kilobytes.
    API_MAX_CONTENT_LENGTH = _env_int("API_MAX_CONTENT_LENGTH", 256 * 1024)
    # How long a new API token lives unless its maker chooses (1 to 365 days).
    API_TOKEN_DAYS = _env_int("API_TOKEN_DAYS", 90)
    # Behind a reverse proxy (one hop): trust its X-Forwarded-For and X-Forwarded-Proto.
    PROXY_FIX = _env_bool("PROXY_FIX", False)
    # Tests only: let unexpected errors propagate to the test client (a 500 page otherwise).
    PROPAGATE_TEST_ERRORS = _env_bool("PROPAGATE_TEST_ERRORS", True)
    # The trial registry sync (`flask --app panel sync-trials`, panel/trials/sync.py).
    CTGOV_API_URL = _env("CTGOV_API_URL", "https://clinicaltrials.gov/api/v2")
    ISRCTN_API_URL = _env("ISRCTN_API_URL", "https://www.isrctn.com/api")
    TRIAL_SYNC_TIMEOUT = float(_env("TRIAL_SYNC_TIMEOUT", "20"))  # seconds per request
    TRIAL_SYNC_RETRIES = _env_int("TRIAL_SYNC_RETRIES", 2)  # extra attempts after a failure
    TRIAL_SYNC_RETRY_WAIT = float(_env("TRIAL_SYNC_RETRY_WAIT", "2"))  # seconds, doubled each time
    # A trial whose status is unknown or was last checked longer ago than this carries "status
    # not checked since DATE" and cannot be approved in a recommendation until it is checked.
    TRIAL_STATUS_MAX_AGE_DAYS = _env_int("TRIAL_STATUS_MAX_AGE_DAYS", 30)
    # The trials.json that `load-trials` and the reference/demo data load (None: the packaged one).
    TRIALS_FILE = _env("TRIALS_FILE")
    ALLOW_DEMO_DATA = True
    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    """The embedded default: SQLite and files on local disk, demo data allowed."""

    ENV_NAME = "development"
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'panel.sqlite3'}")


class TestingConfig(Config):
    """Used by the test-suite; the fixtures set the database URL and storage folder."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    RATELIMIT_STORAGE_URI = "memory://"
    # Limits stay on in the tests (so they are exercised) but high; the limiter test lowers one.
    RATELIMIT_LOGIN = "100000 per minute"
    RATELIMIT_RESET = "100000 per minute"
    # Argon2 at full cost makes a suite of hundreds of logins slow; the parameters are still
    # argon2id, only cheaper.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8 * 1024
    SMTP_HOST = None
    # Jobs run as soon as the commit that asked for them returns (tests of the queue itself
    # choose another mode).
    JOBS_MODE = "eager"
    # The registry sync never runs from the schedule in tests (the internet); its tests run
    # the job against the recorded replay server.
    JOBS_SCHEDULE_OFF = "trials.sync"
    # Tests of the in-process mode do not want the schedule's jobs appearing under them.
    JOBS_INPROCESS_SCHEDULE = False
    # Most tests approve records without opening their PDFs: no layout for them (the tests of
    # the pre-rendering turn it on).
    PDF_PRERENDER = False


class ProductionConfig(Config):
    """Several gunicorn processes sharing PostgreSQL, a storage volume and Redis."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    ALLOW_DEMO_DATA = False


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """Pick the configuration class named by ``PANEL_ENV`` (development by default)."""
    return CONFIGS[os.environ.get("PANEL_ENV", "development").lower()]
