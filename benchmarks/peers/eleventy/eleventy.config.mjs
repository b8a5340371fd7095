// The Eleventy side of benchmarks/peers.py: the pages storysite's default theme makes, as Eleventy
// makes them. Eleventy has no related content, so the story pages have no related links.
import { feedPlugin } from "@11ty/eleventy-plugin-rss";

const STORIES = "./src/stories/*.md";
const TAXONOMIES = [
  { folder: "niches", title: "Niches", key: "niche" },
  { folder: "audiences", title: "Audiences", key: "audience" },
  { folder: "tags", title: "Tags", key: "tags" },
];
const longDate = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

// Oldest first, as Eleventy orders a collection and the feed plugin expects it.
function oldestFirst(a, b) {
  return a.date - b.date || a.fileSlug.localeCompare(b.fileSlug);
}

function newestFirst(api) {
  return api.getFilteredByGlob(STORIES).sort(oldestFirst).reverse();
}

// Every term of one taxonomy with its stories, newest first, terms in name order.
function terms(stories, taxonomy) {
  const found = new Map();
  for (const story of stories) {
    for (const name of [story.data[taxonomy.key] ?? []].flat()) {
      if (!found.has(name)) found.set(name, []);
      found.get(name).push(story);
    }
  }
  return [...found.keys()].sort().map((name) => ({ ...taxonomy, name, stories: found.get(name) }));
}

export default function (eleventyConfig) {
  eleventyConfig.amendLibrary("md", (md) => md.set({ typographer: true }));
  eleventyConfig.addCollection("stories", (api) => api.getFilteredByGlob(STORIES).sort(oldestFirst));
  eleventyConfig.addCollection("taxonomies", (api) => {
    const stories = newestFirst(api);
    return TAXONOMIES.map((taxonomy) => ({ ...taxonomy, terms: terms(stories, taxonomy) }));
  });
  eleventyConfig.addCollection("terms", (api) => {
    const stories = newestFirst(api);
    return TAXONOMIES.flatMap((taxonomy) => terms(stories, taxonomy));
  });
  eleventyConfig.addCollection("years", (api) => {
    const years = new Map();
    for (const story of newestFirst(api)) {
      const year = story.date.getUTCFullYear();
      if (!years.has(year)) years.set(year, []);
      years.get(year).push(story);
    }
    return [...years].map(([year, stories]) => ({ year, stories }));
  });
  eleventyConfig.addFilter("isoDate", (date) => date.toISOString());
  eleventyConfig.addFilter("longDate", (date) => longDate.format(date));
  eleventyConfig.addFilter("minutesToRead", (html) => Math.max(1, Math.round(html.split(/\s+/).length / 200)));
  // One site feed, as on the other peers' sides.
  eleventyConfig.addPlugin(feedPlugin, {
    type: "atom",
    outputPath: "/feed.xml",
    collection: { name: "stories", limit: 20 },
    metadata: {
      language: "en",
      title: "Synthetic stories",
      subtitle: "The newest stories",
      base: "https://bench.example/",
      author: { name: "Bench" },
    },
  });
  return {
    dir: { input: "src", output: "_site" },
    // The stories' Markdown is Markdown only, as for storysite: no template language runs over it first.
    markdownTemplateEngine: false,
    htmlTemplateEngine: "njk",
  };
}
