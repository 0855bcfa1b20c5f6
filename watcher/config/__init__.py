"""Configuration: the YAML shape (`models`, with its sections in `fields`, `feeds`, `topics`,
`channels` and the checks between them in `references`) and how it is read and checked
(`loader`, with `yaml_document`, `variables` and `problems`)."""

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
