from __future__ import annotations

# Chromium at 1280 px by default; a test module may define its own.
from tests.browser.chromium import browser

__all__ = ["browser"]
