"""A synthetic storysite corpus with hidden topics, for the quality and speed benchmarks.

Each story belongs to one of TOPICS hidden topics. Several topics share a niche; the metadata
(niche, audiences, tags) follows the topic only loosely, and the body mixes the topic's vocabulary
with a few other topics' vocabulary, the niche's shared vocabulary, general words and stop words.
So neither the text alone nor the metadata alone finds a story's true neighbours reliably; the
hidden topic (in topics.json) says which links are right.

    python benchmarks/corpus.py OUT --stories N [--seed S]

writes a site that `storysite build -s OUT` builds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from dataclasses import dataclass
from functools import partial
from itertools import accumulate
from pathlib import Path

TOPICS = 20
NICHES = (
    "starting-a-business",
    "building-community",
    "telling-your-story",
    "selling-online",
    "money-and-pricing",
    "hiring-and-teams",
)
AUDIENCES = (
    "first-time-founders",
    "marketers",
    "community-managers",
    "small-shop-owners",
    "freelancers",
    "investors",
    "designers",
    "students",
)


def _word_list(text: str) -> tuple[str, ...]:
    return tuple(text.split())


TAG_POOL = _word_list(
    "community trust pricing branding packaging newsletter market-day cooperative first-year "
    "paperwork hiring payroll suppliers wholesale export photography interviews podcast events "
    "mentoring savings loans taxes delivery reviews social-media website recipes craft coffee "
    "batik tempe"
)
ENGLISH_STOP = _word_list(
    "the a an and or but of to in on at for with from by as is are was were be been it its this "
    "that these those we our you your they their he she his her not no so than then there here "
    "what which who when where how all any each more most some such only own same too very can "
    "will just do does did have has had about into over after before again once"
)
INDONESIAN_STOP = _word_list(
    "yang dan di ke dari ini itu untuk dengan tidak ada adalah pada juga akan atau karena dalam "
    "oleh saya kami kita mereka sudah bisa lebih hanya seperti saat jika tapi agar secara masih "
    "sangat telah setelah sebelum tersebut bahwa harus"
)

# How a story's content words are drawn (the rest of the text is stop words).
TOPIC_SHARE = 0.22
"""Words from the story's own topic vocabulary."""
NICHE_SHARE = 0.05
"""Words shared by every topic of the topic's niche."""
OTHER_TOPICS_SHARE = 0.30
"""Words from two or three other topics, chosen per story: what misleads text similarity."""
STOP_SHARE = 0.38
"""Stop words among all words."""
# How loosely the metadata follows the topic.
NICHE_FOLLOWS = 0.85
AUDIENCE_FOLLOWS = 0.7
TAG_FOLLOWS = 0.7
FIRST_DAY = dt.date(2016, 1, 1)
"""Stories are dated over the ten years from here."""

_ONSETS = "b c d f g h j k l m n p r s t v w z br kr pl st tr"
_VOWELS = "a e i o u ai au ei"
_CODAS = " n r s l m k"


@dataclass(frozen=True)
class Synthetic:
    """One generated story."""

    slug: str
    title: str
    date: dt.date
    niche: str
    audiences: tuple[str, ...]
    tags: tuple[str, ...]
    summary: str
    body: str
    """Markdown: a few paragraphs and a heading, about 300-600 words."""
    topic: int
    """The hidden topic; links to a story of the same topic are the right ones."""
    lang: str = "en"
    """"id" for stories whose stop words are Indonesian."""


@dataclass(frozen=True)
class _Vocabulary:
    words: tuple[str, ...]
    cum_weights: tuple[float, ...]
    """Zipf-like, so each vocabulary has a few frequent words and a long tail."""

    def draw(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum_weights, k=k)


@dataclass(frozen=True)
class _Topic:
    niche: str
    audiences: tuple[str, ...]
    tags: tuple[str, ...]
    vocabulary: _Vocabulary


def _pseudo_words(rng: random.Random, count: int, taken: set[str]) -> tuple[str, ...]:
    onsets, vowels, codas = _ONSETS.split(), _VOWELS.split(), _CODAS.split(" ")
    words: list[str] = []
    while len(words) < count:
        syllables = rng.choice((2, 2, 3, 3, 4))
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables)) + rng.choice(codas)
        if word not in taken:
            taken.add(word)
            words.append(word)
    return tuple(words)


def _vocabulary(words: tuple[str, ...]) -> _Vocabulary:
    return _Vocabulary(words, tuple(accumulate(1.0 / (rank + 1) ** 0.8 for rank in range(len(words)))))


def _topics(rng: random.Random) -> tuple[list[_Topic], dict[str, _Vocabulary], _Vocabulary]:
    taken: set[str] = set(ENGLISH_STOP) | set(INDONESIAN_STOP)
    niche_words = {niche: _vocabulary(_pseudo_words(rng, 60, taken)) for niche in NICHES}
    general = _vocabulary(_pseudo_words(rng, 400, taken))
    topics = []
    for number in range(TOPICS):
        topics.append(
            _Topic(
                niche=NICHES[number % len(NICHES)],
                audiences=tuple(rng.sample(AUDIENCES, 2)),
                tags=tuple(rng.sample(TAG_POOL, 4)),
                vocabulary=_vocabulary(_pseudo_words(rng, 90, taken)),
            )
        )
    return topics, niche_words, general


def _loosely(rng: random.Random, follows: float, preferred: tuple[str, ...], pool: tuple[str, ...] | list[str]) -> str:
    return rng.choice(preferred) if rng.random() < follows else rng.choice(pool)


def _sentences(rng: random.Random, words: list[str]) -> list[str]:
    sentences, start = [], 0
    while start < len(words):
        length = rng.randint(7, 18)
        part = words[start : start + length]
        sentences.append(" ".join(part).capitalize() + ".")
        start += length
    return sentences


def _mix(rng: random.Random, count: int, topic: _Topic, others: list[_Topic],
         niche: _Vocabulary, general: _Vocabulary, stop: tuple[str, ...]) -> list[str]:
    """`count` words in the proportions above, shuffled."""
    content = count - round(count * STOP_SHARE)
    own = round(content * TOPIC_SHARE)
    shared = round(content * NICHE_SHARE)
    foreign = round(content * OTHER_TOPICS_SHARE)
    words = topic.vocabulary.draw(rng, own) + niche.draw(rng, shared)
    for index, other in enumerate(others):
        words += other.vocabulary.draw(rng, foreign // len(others) + (index < foreign % len(others)))
    words += general.draw(rng, content - len(words))
    words += rng.choices(stop, k=count - len(words))
    rng.shuffle(words)
    return words


def generate(n: int, seed: int = 0) -> list[Synthetic]:
    """`n` stories, the same ones for the same seed."""
    rng = random.Random(seed)
    world = _topics(rng)
    return [_story(rng, index, *world) for index in range(n)]


def _story(rng: random.Random, index: int, topics: list[_Topic], niche_words: dict[str, _Vocabulary],
           general: _Vocabulary) -> Synthetic:
    number = rng.randrange(TOPICS)
    topic = topics[number]
    others = rng.sample([t for t in topics if t is not topic], rng.choice((2, 3)))
    indonesian = rng.random() < 0.2
    stop = INDONESIAN_STOP if indonesian else ENGLISH_STOP
    niche = _loosely(rng, NICHE_FOLLOWS, (topic.niche,), NICHES)
    audiences = {_loosely(rng, AUDIENCE_FOLLOWS, topic.audiences, AUDIENCES) for _ in range(rng.randint(1, 3))}
    tags = {_loosely(rng, TAG_FOLLOWS, topic.tags, TAG_POOL) for _ in range(rng.randint(1, 4))}
    mix = partial(_mix, rng, topic=topic, others=others, niche=niche_words[topic.niche], general=general, stop=stop)
    title_words = [w for w in mix(12) if w not in stop][:4]
    summary = " ".join(_sentences(rng, mix(rng.randint(18, 30))))
    paragraphs = [" ".join(_sentences(rng, mix(rng.randint(60, 90)))) for _ in range(rng.randint(5, 7))]
    heading = "## " + " ".join(mix(8)[:3]).capitalize()
    return Synthetic(
        slug=f"s{index:05d}-" + "-".join(title_words[:2]),
        title=" ".join(title_words).capitalize(),
        date=FIRST_DAY + dt.timedelta(days=rng.randrange(3650)),
        niche=niche,
        audiences=tuple(sorted(audiences)),
        tags=tuple(sorted(tags)),
        summary=summary,
        body="\n\n".join([*paragraphs[:2], heading, *paragraphs[2:]]) + "\n",
        topic=number,
        lang="id" if indonesian else "en",
    )


def _config_text() -> str:
    lines = ["title: Synthetic stories", "base_url: https://bench.example/", "niches:"]
    lines += [f"  {niche}: {{title: {niche.replace('-', ' ').capitalize()}}}" for niche in NICHES]
    lines.append("audiences:")
    lines += [f"  {audience}: {{title: {audience.replace('-', ' ').capitalize()}}}" for audience in AUDIENCES]
    return "\n".join(lines) + "\n"


def story_text(story: Synthetic) -> str:
    """The story's Markdown file: front-matter and body."""
    lang = "" if story.lang == "en" else f"\nlang: {story.lang}"
    return (
        "---\n"
        f"title: {json.dumps(story.title)}\n"
        f"date: {story.date.isoformat()}\n"
        f"niche: {story.niche}\n"
        f"audience: [{', '.join(story.audiences)}]\n"
        f"tags: [{', '.join(story.tags)}]\n"
        f"summary: {json.dumps(story.summary)}{lang}\n"
        "---\n\n" + story.body
    )


def write_site(root: Path, n: int, seed: int = 0) -> list[Synthetic]:
    """Write a buildable site of `n` generated stories to `root`, with topics.json beside it."""
    stories = generate(n, seed)
    folder = root / "content" / "stories"
    folder.mkdir(parents=True, exist_ok=True)
    (root / "storysite.yaml").write_text(_config_text(), encoding="utf-8")
    for story in stories:
        (folder / f"{story.slug}.md").write_text(story_text(story), encoding="utf-8")
    topics = {story.slug: story.topic for story in stories}
    (root / "topics.json").write_text(json.dumps(topics, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    return stories


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="site folder to write")
    parser.add_argument("--stories", type=int, default=1000, help="how many stories (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args()
    stories = write_site(args.out, args.stories, args.seed)
    print(f"{len(stories)} stories in {TOPICS} hidden topics written to {args.out}")


if __name__ == "__main__":
    main()
