"""Flask extensions, created once and bound to the app in ``create_app``."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
migrate = Migrate()
login_manager = LoginManager()
# Storage: Redis when PANEL_REDIS_URL is set (shared by every process), memory otherwise.
limiter = Limiter(key_func=get_remote_address)
