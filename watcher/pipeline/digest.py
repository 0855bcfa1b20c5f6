"""Digest rendering: a `Digest` in, a subject line, a plain-text body and an HTML body out.

Owns rendering with jinja: the environment (HTML autoescaped by file name, undefined
variables an error), the context the templates `digest.txt.j2` and `digest.html.j2` see,
and turning a broken or missing template into a ConfigError that names the file and line.
`render_digest` is the entry point; `sample_digest` (from `digest_sample`) is re-exported
here for `watcher digest --test`, previews and tests.

Does not own: how numbers, dates and headlines read (`digest_format`), the view models
built from a digest (`digest_view`), sending anything or inlining CSS for mail clients
(`watcher.deliver.email`), the clock or the network: everything it shows comes from the
digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from functools import lru_cache
from pathlib import Path

import jinja2

from watcher.exceptions import ConfigError, ConfigProblem
from watcher.pipeline.digest_format import clean_line, format_date, subject_line
from watcher.pipeline.digest_sample import sample_digest
from watcher.pipeline.digest_view import ATTENTION_MAX, attention_views, sections
from watcher.resources import templates_dir
from watcher.types import Digest

__all__ = ["HTML_TEMPLATE", "TEXT_TEMPLATE", "RenderedDigest", "render_digest", "sample_digest"]

TEXT_TEMPLATE = "digest.txt.j2"
HTML_TEMPLATE = "digest.html.j2"


@dataclass(frozen=True)
class RenderedDigest:
    """A digest ready for a channel: subject line, plain text and (un-inlined) HTML."""

    subject: str
    text: str
    html: str


def _autoescape(name: str | None) -> bool:
    # select_autoescape() looks at the last extension only, which is ".j2" here.
    return name is not None and any(part in ("html", "htm", "xml") for part in name.split(".")[1:])


@lru_cache(maxsize=8)
def _environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_digest(digest: Digest, *, templates: Path | None = None,
                  subject_prefix: str = "[watcher]") -> RenderedDigest:
    """Render a digest with `digest.txt.j2` and `digest.html.j2` from `templates`.

    `templates` defaults to the shipped templates folder; a user may point it at a copy.
    A broken template raises ConfigError naming the file and line.
    """
    folder = Path(templates) if templates is not None else templates_dir()
    shown = sections(digest)
    subject = subject_line(digest, subject_prefix)
    context: dict[str, object] = {
        "digest_id": clean_line(digest.id),
        "channel": clean_line(digest.channel),
        "generated": format_date(digest.generated_at),
        "generated_iso": digest.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "headlines": [c.headline for s in shown for c in s.changes],
        "sections": shown,
        "subject": subject,
        "attention": attention_views(digest.feeds_needing_attention),
        "attention_more": max(len(digest.feeds_needing_attention) - ATTENTION_MAX, 0),
    }
    return RenderedDigest(subject=subject,
                          text=_render(folder, TEXT_TEMPLATE, context),
                          html=_render(folder, HTML_TEMPLATE, context))


def _render(folder: Path, name: str, context: dict[str, object]) -> str:
    path = folder / name
    try:
        return _environment(folder).get_template(name).render(context)
    except jinja2.TemplateNotFound as e:
        raise ConfigError([ConfigProblem(str(path), None, "", "template not found; restore it "
                                         "from the watcher distribution")]) from e
    except jinja2.TemplateError as e:
        message = f"{clean_line(str(e))}; fix the template (its variables are listed at its top)"
        raise ConfigError([ConfigProblem(str(path), _template_line(e, path), "", message)]) from e


def _template_line(error: jinja2.TemplateError, path: Path) -> int | None:
    """The template line of an error: syntax errors carry it, runtime errors carry it in
    the traceback (jinja2 rewrites frames to point into the template)."""
    line = getattr(error, "lineno", None)
    tb = error.__traceback__
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
