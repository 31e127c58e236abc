"""Is a generated picture a picture? Checks with teeth for tests of image output.

PNG magic bytes or a size let a black square pass. :func:`image_problems` measures the pixels:

- not a constant: the grey levels vary (standard deviation) over a usable range;
- not nearly blank: no single colour covers most of the picture;
- not noise: neighbouring pixels are alike (their correlation; ~0 for random pixels);
- not a smooth ramp: some pixels sit on an edge (a step between neighbours).

Returns a list of problems ([] means it passed); :func:`assert_picture` raises them.
"""

from __future__ import annotations

import numpy as np

MIN_STD = 10.0  # grey levels (0-255): below, the picture is flat
MIN_RANGE = 40.0  # 1st to 99th percentile of the grey levels
MAX_ONE_COLOUR = 0.5  # share of pixels that may have exactly the same colour
MIN_CORRELATION = 0.5  # neighbouring grey levels: random pixels ~0, photographs and faces > 0.8
EDGE_STEP = 8.0  # a step of this many grey levels between neighbours is an edge
MIN_EDGES = 0.02  # share of pixels on an edge


def pixels(image) -> np.ndarray:
    """An image (PIL, or an array HxW, HxWxC in 0-255) as float64 RGB, HxWx3."""
    if hasattr(image, "convert"):
        image = image.convert("RGB")
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return array[:, :, :3]


def grey(image) -> np.ndarray:
    return pixels(image).mean(axis=2)


def neighbour_correlation(image) -> float:
    """Correlation of each grey level with its right and lower neighbours (their mean)."""
    g = grey(image)
    pairs = [(g[:, :-1], g[:, 1:]), (g[:-1, :], g[1:, :])]
    values = []
    for a, b in pairs:
        if a.std() == 0 or b.std() == 0:
            return 0.0
        values.append(float(np.corrcoef(a.ravel(), b.ravel())[0, 1]))
    return float(np.mean(values))


def edge_share(image, step: float = EDGE_STEP) -> float:
    """The share of pixels whose grey level differs by ``step`` or more from a neighbour."""
    g = grey(image)
    across = np.abs(np.diff(g, axis=1))[:-1, :]
    down = np.abs(np.diff(g, axis=0))[:, :-1]
    return float(np.mean(np.maximum(across, down) >= step))


def largest_colour_share(image) -> float:
    """The share of pixels that have the most common exact RGB colour."""
    flat = pixels(image).reshape(-1, 3)
    _, counts = np.unique(flat, axis=0, return_counts=True)
    return float(counts.max() / len(flat))


def image_problems(image) -> list[str]:
    """What makes ``image`` not a picture: constant, nearly blank, noise or a smooth ramp."""
    g = grey(image)
    if g.size < 4 or min(g.shape) < 2:
        return [f"too small to judge: {g.shape[1]}x{g.shape[0]}"]
    problems = []
    spread = float(g.std())
    span = float(np.percentile(g, 99) - np.percentile(g, 1))
    if spread < MIN_STD or span < MIN_RANGE:
        problems.append(
            f"flat: grey levels vary by {spread:.1f} (std) over {span:.0f} levels "
            f"(at least {MIN_STD} and {MIN_RANGE})"
        )
    one = largest_colour_share(image)
    if one > MAX_ONE_COLOUR:
        problems.append(f"nearly blank: {one:.0%} of the pixels are one colour")
    correlation = neighbour_correlation(image)
    if spread >= MIN_STD and correlation < MIN_CORRELATION:
        problems.append(
            f"noise-like: neighbouring pixels correlate {correlation:.2f} "
            f"(pictures > {MIN_CORRELATION})"
        )
    edges = edge_share(image)
    if spread >= MIN_STD and edges < MIN_EDGES:
        problems.append(f"no edges: {edges:.1%} of pixels on a step of {EDGE_STEP:.0f} levels")
    return problems


def assert_picture(image) -> None:
    problems = image_problems(image)
    assert not problems, "not a picture: " + "; ".join(problems)
