"""storysite: a static site generator for brand storytelling blogs."""

__version__ = "0.1.0"
