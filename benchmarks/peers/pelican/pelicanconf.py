# The Pelican side of benchmarks/peers.py: the pages storysite's default theme makes, as Pelican makes them.
from pathlib import Path

AUTHOR = "Bench"
SITENAME = "Synthetic stories"
SITEURL = "https://bench.example"
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
THEME = str(Path(__file__).parent / "theme")

DEFAULT_PAGINATION = 10
PAGINATED_TEMPLATES = {"index": None}
DIRECT_TEMPLATES = ["index", "tags", "categories", "archives"]

ARTICLE_URL = "stories/{slug}/"
ARTICLE_SAVE_AS = "stories/{slug}/index.html"
CATEGORY_URL = "niches/{slug}/"
CATEGORY_SAVE_AS = "niches/{slug}/index.html"
CATEGORIES_SAVE_AS = "niches/index.html"
TAG_URL = "tags/{slug}/"
TAG_SAVE_AS = "tags/{slug}/index.html"
TAGS_SAVE_AS = "tags/index.html"
ARCHIVES_SAVE_AS = "archive/index.html"
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""

# One site feed, as on the Hugo side.
FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
FEED_MAX_ITEMS = 20

# The Markdown extensions storysite uses.
MARKDOWN = {
    "extensions": ["markdown.extensions.extra", "markdown.extensions.sane_lists", "markdown.extensions.smarty", "markdown.extensions.toc"],
    "output_format": "html5",
}

PLUGINS = ["pelican.plugins.related_posts"]
RELATED_POSTS_MAX = 5

# Pelican's own cache, so its rebuilds are as quick as it can make them.
LOAD_CONTENT_CACHE = True
CACHE_CONTENT = True
CACHE_PATH = "cache"
