"""Configuration: the YAML shape (`models`) and how it is read and checked (`loader`)."""

from watcher.config.loader import default_config_path, load_settings  # noqa: F401
from watcher.config.models import (  # noqa: F401
    AlertSettings,
    Channel,
    CustomFigure,
    EmailChannel,
    FeedSettings,
    FetchSettings,
    MatchSettings,
    Settings,
    SmtpSettings,
    TopicSettings,
    WebhookChannel,
    parse_duration,
)
