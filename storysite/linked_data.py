"""schema.org descriptions of pages (JSON-LD): plain data in, plain dicts out, printed by templates with tojson."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from .model import SiteInfo, Story
from .urls import SiteUrls

CONTEXT = "https://schema.org"
# Pages that list stories (or terms) rather than tell one.
COLLECTION_KINDS = frozenset({"niche", "audience", "tag", "terms", "map", "archive"})


def last_changed(story: Story) -> dt.datetime:
    """When a story last changed: its `updated` date, else its date."""
    return story.updated or story.date


def story_image(story: Story, urls: SiteUrls) -> str | None:
    """The full URL of a story's cover, or None when it has none."""
    return urls.resolve(story.cover, story.path) if story.cover else None


def page_data(kind: str, name: str, description: str, url: str, lang: str, info: SiteInfo, urls: SiteUrls,
              *, story: Story | None = None, stories: Sequence[Story] = ()) -> dict[str, Any] | None:
    """The JSON-LD object of a page: BlogPosting for a story, Blog for the home page, else a web page.

    The not-found page gets none: it describes nothing.
    """
    if kind == "404":
        return None
    if story is not None:
        return {"@context": CONTEXT, **blog_posting(story, info, urls), "mainEntityOfPage": url}
    if kind == "home":
        # Every page of the home page list shows the blog, with the stories on that page.
        return {"@context": CONTEXT, **_blog(info, urls), "mainEntityOfPage": url, "inLanguage": lang,
                "blogPost": [_posting_summary(s, urls) for s in stories]}
    return {
        "@context": CONTEXT,
        "@type": "CollectionPage" if kind in COLLECTION_KINDS else "WebPage",
        "name": name,
        **({"description": description} if description else {}),
        "url": url,
        "inLanguage": lang,
        "isPartOf": _blog(info, urls),
    }


def blog_posting(story: Story, info: SiteInfo, urls: SiteUrls) -> dict[str, Any]:
    """A story as a schema.org BlogPosting."""
    image = story_image(story, urls)
    return {
        "@type": "BlogPosting",
        "headline": story.title,
        **({"description": story.summary} if story.summary else {}),
        "url": urls.resolve(story.url, story.path),
        "datePublished": story.date.isoformat(),
        "dateModified": last_changed(story).isoformat(),
        "author": _author(story.author, info, urls),
        "publisher": _publisher(info, urls),
        **({"image": image} if image else {}),
        "inLanguage": story.lang,
        "articleSection": story.niche.title,
        **({"keywords": [tag.title for tag in story.tags]} if story.tags else {}),
        "wordCount": story.word_count,
        "isPartOf": _blog(info, urls),
    }


def _posting_summary(story: Story, urls: SiteUrls) -> dict[str, Any]:
    return {"@type": "BlogPosting", "headline": story.title, "url": urls.resolve(story.url, story.path),
            "datePublished": story.date.isoformat()}


def _blog(info: SiteInfo, urls: SiteUrls) -> dict[str, Any]:
    return {"@type": "Blog", "name": info.title, **({"description": info.description} if info.description else {}),
            "url": urls.absolute("")}


def _publisher(info: SiteInfo, urls: SiteUrls) -> dict[str, Any]:
    return {"@type": "Organization", "name": info.title, "url": urls.absolute("")}


def _author(name: str, info: SiteInfo, urls: SiteUrls) -> dict[str, Any]:
    """A named author is a person; a story without one is the site's (the brand's) own."""
    return {"@type": "Person", "name": name} if name else _publisher(info, urls)
