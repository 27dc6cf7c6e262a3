"""Grouping a catalogue: photos clustered by their CLIP embeddings, with their tags as a
second signal, into as many groups as the data holds; each group named by its most typical
tags.

The hotel case behind the bot asks "does the number of clusters match the number of
classes?": the number of groups is not given. Agglomerative clustering (scikit-learn,
average linkage over a precomputed cosine distance) builds the whole tree once; the cut
is the one whose groups are best separated (the highest silhouette, each candidate cut a
distance threshold), and the groups are then those of
``AgglomerativeClustering(distance_threshold=t)`` at that threshold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: how much the tags weigh against the embedding in the distance (0: embedding only)
TAG_WEIGHT = 0.3
#: below this silhouette no cut separates anything: one group
MIN_SILHOUETTE = 0.15
MAX_GROUPS = 30  # cuts tried: 2 .. this many groups
NAME_TAGS = 2  # a group's name: its most typical tags, at most this many
NAME_MIN_SHARE = 0.3  # ... each on at least this share of the group's photos


@dataclass(frozen=True)
class PhotoTag:
    en: str
    ru: str
    probability: float = 1.0


@dataclass(frozen=True)
class Group:
    members: tuple[int, ...]  # indices into the input, in input order
    name_en: str  # "mug, cup" ("" when its photos have no tags)
    name_ru: str


@dataclass(frozen=True)
class Grouping:
    groups: tuple[Group, ...]  # biggest first
    threshold: float | None  # the cosine-distance cut chosen (None: fewer than 3 photos)
    silhouette: float | None
    distinct_top_tags: int  # how many different first tags the photos have

    @property
    def photos(self) -> int:
        return sum(len(group.members) for group in self.groups)

    @property
    def labels(self) -> list[int]:
        """Each photo's group number (its index in `groups`; -1: in none)."""
        labels = [-1] * (max((max(g.members) for g in self.groups if g.members), default=-1) + 1)
        for number, group in enumerate(self.groups):
            for member in group.members:
                labels[member] = number
        return labels

    def report(self) -> str:
        return (
            f"{self.photos} photos -> {len(self.groups)} groups; "
            f"{self.distinct_top_tags} distinct top tags"
            + (f"; distance cut {self.threshold:.3f}" if self.threshold is not None else "")
            + (f", silhouette {self.silhouette:.2f}" if self.silhouette is not None else "")
        )


def distances(
    embeddings: np.ndarray, tags: Sequence[Sequence[PhotoTag]] | None = None
) -> np.ndarray:
    """Cosine distance between the photos' embeddings (rows made unit length), blended
    with the cosine distance of their tag profiles (tags weighted by probability) where
    both photos have tags."""
    rows = np.asarray(embeddings, dtype=np.float64)
    rows = rows / np.clip(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12, None)
    distance = np.clip(1.0 - rows @ rows.T, 0.0, 2.0)
    if tags and TAG_WEIGHT > 0 and any(tags):
        vocabulary = {
            tag.en: i for i, tag in enumerate({t.en: t for ts in tags for t in ts}.values())
        }
        profile = np.zeros((len(tags), len(vocabulary)))
        for row, photo_tags in enumerate(tags):
            for tag in photo_tags:
                profile[row, vocabulary[tag.en]] += max(tag.probability, 1e-3)
        norms = np.linalg.norm(profile, axis=1, keepdims=True)
        has = norms[:, 0] > 0
        profile = profile / np.clip(norms, 1e-12, None)
        tag_distance = np.clip(1.0 - profile @ profile.T, 0.0, 1.0)
        both = np.outer(has, has)
        distance = np.where(
            both, (1 - TAG_WEIGHT) * distance + TAG_WEIGHT * tag_distance, distance
        )
    np.fill_diagonal(distance, 0.0)
    return (distance + distance.T) / 2


def group_photos(
    embeddings: np.ndarray, tags: Sequence[Sequence[PhotoTag]] | None = None
) -> Grouping:
    """Cluster the photos (rows of ``embeddings``; ``tags[i]``: photo i's tags, best first)."""
    count = len(embeddings)
    tags = list(tags) if tags is not None else [[] for _ in range(count)]
    if len(tags) != count:
        raise ValueError(f"{count} embeddings but {len(tags)} tag lists")
    top = len({photo_tags[0].en for photo_tags in tags if photo_tags})
    if count < 3:
        labels = list(range(count)) if count == 2 else [0] * count
        return Grouping(_groups(labels, tags), None, None, top)
    distance = distances(embeddings, tags)
    threshold, silhouette = choose_threshold(distance)
    labels = [0] * count if threshold is None else cluster(distance, threshold)
    return Grouping(_groups(labels, tags), threshold, silhouette, top)


def cluster(distance: np.ndarray, threshold: float) -> list[int]:
    """scikit-learn's agglomerative clustering (average linkage) cut at ``threshold``."""
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=threshold
    )
    return [int(label) for label in model.fit_predict(distance)]


def choose_threshold(distance: np.ndarray) -> tuple[float | None, float | None]:
    """The distance cut with the best silhouette among the tree's cuts into 2..MAX_GROUPS
    groups (None when even the best separates nothing: one group)."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    count = len(distance)
    tree = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=0.0,
        compute_full_tree=True,
    ).fit(distance)
    heights = np.asarray(tree.distances_, dtype=np.float64)  # merge i joins at heights[i]
    best: tuple[float, float] | None = None
    for groups in range(2, min(MAX_GROUPS, count - 1) + 1):
        merges = count - groups  # the first `merges` merges make `groups` groups
        low, high = heights[merges - 1], heights[merges]
        if high <= low:  # a tie: no cut gives exactly this many groups
            continue
        labels = _cut(tree.children_, count, merges)
        score = float(silhouette_score(distance, labels, metric="precomputed"))
        if best is None or score > best[1]:
            best = ((low + high) / 2, score)
    if best is None or best[1] < MIN_SILHOUETTE:
        return None, best[1] if best else None
    return best


def _cut(children: np.ndarray, count: int, merges: int) -> np.ndarray:
    """Labels after the tree's first ``merges`` merges (union-find over sklearn's tree)."""
    parent = list(range(count + merges))
    for step in range(merges):
        a, b = children[step]
        parent[a] = parent[b] = count + step

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    roots = [root(i) for i in range(count)]
    numbers = {r: n for n, r in enumerate(dict.fromkeys(roots))}
    return np.array([numbers[r] for r in roots])


def _groups(labels: Sequence[int], tags: Sequence[Sequence[PhotoTag]]) -> tuple[Group, ...]:
    members: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(label, []).append(index)
    ordered = sorted(members.values(), key=lambda m: (-len(m), m[0]))
    everyone = Counter(t.en for ts in tags for t in {x.en: x for x in ts}.values())
    names = {t.en: t.ru for ts in tags for t in ts}
    groups = []
    for group in ordered:
        english = typical_tags(group, tags, everyone, len(labels))
        groups.append(
            Group(tuple(group), ", ".join(english), ", ".join(names[en] for en in english))
        )
    return tuple(groups)


def typical_tags(
    members: Sequence[int],
    tags: Sequence[Sequence[PhotoTag]],
    everyone: Mapping[str, int],
    total: int,
) -> list[str]:
    """The group's most typical tags: on a large share of its photos and rarer outside it
    (share inside minus share outside, then share inside)."""
    inside = Counter(t.en for i in members for t in {x.en: x for x in tags[i]}.values())
    outside_total = max(total - len(members), 1)
    scored = []
    for tag, count in inside.items():
        share = count / len(members)
        if share < NAME_MIN_SHARE:
            continue
        lift = share - (everyone[tag] - count) / outside_total
        scored.append((-lift, -share, tag))
    return [tag for *_, tag in sorted(scored)[:NAME_TAGS]]
