"""The project's settings for commands that run outside the checkout (entry points)."""

from __future__ import annotations

from typing import Any


def project_settings() -> dict[str, Any]:
    """``crawler.settings`` as a dict (what ``Settings.setmodule`` reads from it)."""
    from crawler import settings

    return {name: getattr(settings, name) for name in dir(settings) if name.isupper()}
