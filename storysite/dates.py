"""Babel and time zones live here: parse front-matter dates, format them in the site's language."""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime


def find_timezone(name: str) -> dt.tzinfo | None:
    """The time zone of an IANA name, or None when there is no such zone."""
    if name.upper() == "UTC":
        return dt.timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def to_datetime(value: object, tz: dt.tzinfo) -> dt.datetime | None:
    """A front-matter date (date, datetime or ISO text) as an aware datetime; None if it is none."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                value = dt.date.fromisoformat(text)
            except ValueError:
                return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=tz)
    return None


def build_time() -> dt.datetime:
    """Now, or SOURCE_DATE_EPOCH when set, so builds can be reproduced."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc)


@lru_cache(maxsize=None)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@lru_cache(maxsize=1 << 16)
def format_date(value: dt.datetime, language: str, format: str = "long") -> str:
    """A date in the given language: format_date(d, "id") -> "14 Maret 2025"."""
    # Remembered: lists of stories show each story's date on many pages, and Babel is slow.
    if format in ("short", "medium", "long", "full"):
        return babel_format_date(value.date(), format=format, locale=_locale(language))
    return format_datetime(value, format=format, locale=_locale(language), tzinfo=value.tzinfo)


def known_language(language: str) -> bool:
    """True when Babel knows the language."""
    try:
        Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return False
    return True
