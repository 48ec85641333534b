"""Built-in synthetic task: 8 classes that need position and a long-range relation, among graded clutter.

Nothing is downloaded or stored: every image is rendered from a seed, at any size (>= 16 px), several thousand
per second on one core (drawing is vectorized over chunks of images). An S x S image is laid out on a 4 x 4 grid
of cells (S/4 px each) over uniform noise and holds a marker and two squares (the two label factors), thin lines
and decoys; cells never overlap, and the drawing order (decoys, squares, marker, lines) keeps the lines whole.

1. ``quadrant`` (0-3): **a white marker** (filled square, side S/8) in a random cell; the factor is the quadrant
   of that cell. The label depends on absolute location, which a PVT without position embedding, OPE or CFFN
   cannot see (its layers either work inside one patch or ignore token order); v1's position embeddings, or
   v2's zero padding in OPE and the CFFN depthwise conv, give it back (P2 sec 3.4).
2. ``left`` (0/1): **a red and a blue square** (side S/6) in cells whose rows are at least two apart and whose
   columns differ; the factor is whether the red one lies left of the blue one: a relation between places in
   different quadrants, never inside one patch or local window.
3. ``zigzag`` (0/1, *not in the label*): **thin lines** (1 px, yellow; 8 at 64 px, S/8 below), all horizontal or
   all vertical, each straight or cut into 4 px segments at the stage-1 patch borders with every other segment
   moved sideways: clutter whose shape exists only across patch borders (P2 sec 3.3-3.4).

Label = ``2 * quadrant + left``: 8 classes, balanced, chance 12.5 %.

**Difficulty levels** (``LEVELS`` = 4, drawn uniformly per image, independent of the label; ``level`` in the
factors), so a better inductive bias shows as more of the harder images solved:

======  ==========================  =======================  =================  ================
level   zigzag (segment px, step)   decoys (grey, marker's   background noise   noise on object
                                    size, in free cells)     (max, uint8)       pixels (+-)
======  ==========================  =======================  =================  ================
0       2 px, 3 px: steps inside    none                     60                 0 (exact colours)
        patches too
1       4 px, 3 px                  1, grey 150              90                 20
2       4 px, 2 px                  2, grey 180              120                40
3       4 px, 1 px                  3, grey 210              150                60
======  ==========================  =======================  =================  ================

Decoys sit in other quadrants, so a model that does not know where the white marker is pays on the quadrant.
There is no train-time augmentation: a flip would move the marker to another quadrant and swap left and right.
How the task came to be this way, with the measurements behind it: ``docs/measured.md``.

**The task's one known trap for PVTv1** (``tokens_are_quadrants``): a pyramid whose tokens are exactly the task's
quadrants. Measured (default grid, 64 px): pvt_nano with PVTv1's non-overlapping patch embeddings ends on a 2 x 2
grid whose four tokens are the image quadrants the label asks about, and PVTv1 stayed at chance on position
(quadrant 26 %, chance 25 %; 20.2 / 16.9 / 17.4 % top-1 on ``paper_table6.yaml``, chance 12.5 %), even with 10x lr
or 50x init on its position tables; at 48 and 96 px it learned position fully. ``tokens_are_quadrants`` is a cheap
check of a spec's settings against that trap (tests/test_shipped_specs_learn.py); ``benchmarks/specs_learn.py``
trains the PVTv1 rows.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from functools import lru_cache
from typing import Protocol

import torch

from .datasets import UInt8Images, check_image_size

NUM_CLASSES = 8
CHUNK = 128  # images rendered per vectorized step
GRID = 4  # layout cells per side
SEGMENT_PX = 4  # PVT's stage-1 patch stride: from level 1 on, zigzag steps sit only on patch borders
LEVELS = 4  # difficulty levels, drawn uniformly per image (see the module docstring)
LEVEL_SEGMENT_PX = (2, SEGMENT_PX, SEGMENT_PX, SEGMENT_PX)  # level 0 steps inside patches too, then at borders
LEVEL_STEP_PX = (3, 3, 2, 1)  # zigzag step per level
STEP_PX = max(LEVEL_STEP_PX)  # the bands are sized for the largest step
LEVEL_NOISE_MAX = (60, 90, 120, 150)  # background noise amplitude per level (uint8; below every object colour)
LEVEL_OBJECT_NOISE = (0, 20, 40, 60)  # +- noise on object pixels per level (level 0: exact colours)
LEVEL_DECOY_GREY = (0, 150, 180, 210)  # grey of the decoys (level l draws l of them): closer to white when harder
LINES = 8  # thin lines per image (fewer below 64 px: a band needs 8 px)
MARKER_DIV = 8  # marker side = S // MARKER_DIV
SQUARE_DIV = 6  # red/blue square side = S // SQUARE_DIV
MIN_IMAGE_SIZE = 16  # below this the cells are too small to hold the objects
MARKER_RGB = (255, 255, 255)
LINE_RGB = (255, 230, 0)
RED_RGB = (230, 40, 40)
BLUE_RGB = (50, 90, 255)
FACTORS = ("quadrant", "left")  # label = 2 * quadrant + left; "zigzag" is drawn but not in the label


@lru_cache(maxsize=None)
def _layouts() -> torch.Tensor:
    """Every (marker, square A, square B) cell triple: distinct cells, A and B in rows >= 2 apart and other columns."""
    rows = []
    cells = range(GRID * GRID)
    for marker, a, b in itertools.permutations(cells, 3):
        if abs(a // GRID - b // GRID) >= 2 and a % GRID != b % GRID:  # rows far apart, columns differ
            rows.append((marker, a, b))
    return torch.tensor(rows, dtype=torch.long)  # (L, 3)


def _randint(gen: torch.Generator, low: int, high: int, size: int) -> torch.Tensor:
    """``size`` uniform integers in [low, high) drawn from ``gen``."""
    return torch.randint(low, high, (size,), generator=gen)


def _square_mask(yy: torch.Tensor, xx: torch.Tensor, top: torch.Tensor, left: torch.Tensor, side: int) -> torch.Tensor:
    """(N, S, S) mask of one axis-aligned square per image (row and column bands, broadcast)."""
    t, l = top.view(-1, 1, 1), left.view(-1, 1, 1)
    return (yy >= t) & (yy < t + side) & (xx >= l) & (xx < l + side)


def _chunk_generator(seed: int, index: int) -> torch.Generator:
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + index) % 2**63)


def render(num: int, image_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """Render ``num`` images of side ``image_size`` from ``seed``.

    Returns (images uint8 (N, 3, S, S), labels int64 (N,), factors {"quadrant", "zigzag", "left", "level"}
    int64 (N,)).
    The same (image_size, seed) always gives the same images on any machine, and a smaller ``num`` gives a
    prefix of a larger one: images are rendered in chunks of ``CHUNK`` (which keeps the working set in
    cache, about 3x faster than one big batch), each from its own generator seeded by (seed, chunk index).
    """
    check_image_size("synthetic", image_size, MIN_IMAGE_SIZE)
    parts = [_render_chunk(CHUNK, image_size, _chunk_generator(seed, i)) for i in range(-(-num // CHUNK))]
    images = torch.cat([p[0] for p in parts] or [torch.zeros(0, 3, image_size, image_size, dtype=torch.uint8)])[:num]
    factors = {k: torch.cat([p[1][k] for p in parts] or [torch.zeros(0, dtype=torch.long)])[:num]
               for k in (*FACTORS, "zigzag", "level")}
    labels = 2 * factors["quadrant"] + factors["left"]
    return images, labels, factors


def _render_chunk(N: int, S: int, gen: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One chunk: an object map (0 background, 1-5 objects) drawn first, coloured once at the end."""
    cell = S // GRID
    marker_side, square_side = max(2, S // MARKER_DIV), max(2, S // SQUARE_DIV)
    yy = torch.arange(S, dtype=torch.int32).view(1, S, 1)
    xx = torch.arange(S, dtype=torch.int32).view(1, 1, S)
    objects = torch.zeros(N, S, S, dtype=torch.uint8)
    colours = torch.zeros(N, 6, 3, dtype=torch.uint8)  # per image: colour of object 0 (unused) .. 5

    # Layout: marker cell and two far-apart square cells, all distinct; decoys in other, distinct cells.
    layouts = _layouts()
    marker_cell, a_cell, b_cell = layouts[torch.randint(0, len(layouts), (N,), generator=gen)].unbind(1)
    level = torch.randint(0, LEVELS, (N,), generator=gen)
    free = torch.rand(N, GRID * GRID, generator=gen)
    free.scatter_(1, torch.stack([marker_cell, a_cell, b_cell], 1), 2.0)  # used cells sort last
    decoy_cells = free.argsort(1)[:, :LEVELS - 1]
    for k in range(LEVELS - 1):  # level l draws decoys 0..l-1 (object 5)
        top = (decoy_cells[:, k] // GRID) * cell + _randint(gen, 0, cell - marker_side + 1, N)
        left = (decoy_cells[:, k] % GRID) * cell + _randint(gen, 0, cell - marker_side + 1, N)
        mask = _square_mask(yy, xx, top, left, marker_side) & (level > k).view(-1, 1, 1)
        objects.masked_fill_(mask, 5)
    colours[:, 5] = torch.tensor(LEVEL_DECOY_GREY, dtype=torch.uint8)[level].view(-1, 1)

    # Factor "left": is the red square (object 1) left of the blue one (object 2)?
    for obj, cells in ((1, a_cell), (2, b_cell)):
        top = (cells // GRID) * cell + _randint(gen, 0, cell - square_side + 1, N)
        left = (cells % GRID) * cell + _randint(gen, 0, cell - square_side + 1, N)
        objects.masked_fill_(_square_mask(yy, xx, top, left, square_side), obj)
    colours[:, 1] = torch.tensor(RED_RGB, dtype=torch.uint8)
    colours[:, 2] = torch.tensor(BLUE_RGB, dtype=torch.uint8)
    is_left = (a_cell % GRID < b_cell % GRID).long()

    # Factor "quadrant": where the marker (object 3) is.
    top = (marker_cell // GRID) * cell + _randint(gen, 0, cell - marker_side + 1, N)
    left = (marker_cell % GRID) * cell + _randint(gen, 0, cell - marker_side + 1, N)
    objects.masked_fill_(_square_mask(yy, xx, top, left, marker_side), 3)
    colours[:, 3] = torch.tensor(MARKER_RGB, dtype=torch.uint8)
    half = GRID // 2
    quadrant = (marker_cell // GRID >= half).long() * 2 + (marker_cell % GRID >= half).long()

    # Factor "zigzag": full-length thin lines (object 4), all straight, or all zigzag: cut into segments (the
    # level's length, a divisor of the patch stride), every other segment moved the level's step sideways. Line k keeps inside band k,
    # 1 px off its edges, so lines never touch.
    zigzag = torch.randint(0, 2, (N,), generator=gen)
    vertical = torch.randint(0, 2, (N,), generator=gen).bool().view(-1, 1, 1)
    along = torch.where(vertical, yy, xx)  # (N, S, S) via broadcasting: position along the line
    across = torch.where(vertical, xx, yy)
    n_lines = max(1, min(LINES, S // (2 * STEP_PX + 2)))  # a band must fit a line and its step either way
    band = S // n_lines
    lines = torch.zeros(N, S, S, dtype=torch.bool)
    segment = torch.tensor(LEVEL_SEGMENT_PX, dtype=torch.int32)[level].view(-1, 1, 1)
    for k in range(n_lines):
        offset = _randint(gen, 1, band - 1, N)  # inside the band
        size = torch.tensor(LEVEL_STEP_PX)[level]
        step = zigzag * size * (torch.randint(0, 2, (N,), generator=gen) * 2 - 1)  # 0 or +-size
        step = torch.where((offset + step < 1) | (offset + step >= band - 1), -step, step)
        phase = torch.randint(0, 2, (N,), generator=gen)  # which segments move: odd or even ones
        offset, step, phase = (v.to(torch.int32).view(-1, 1, 1) for v in (k * band + offset, step, phase))
        moved = (along // segment + phase) % 2
        lines |= across == offset + step * moved
    objects.masked_fill_(lines, 4)
    colours[:, 4] = torch.tensor(LINE_RGB, dtype=torch.uint8)

    # Colour: noise (amplitude by level) where there is no object, the object's colour elsewhere.
    noise_max = torch.tensor(LEVEL_NOISE_MAX, dtype=torch.float32)[level].view(-1, 1, 1, 1)
    images = (torch.rand(N, 3, S, S, generator=gen) * (noise_max + 1)).floor().to(torch.uint8)
    flat = objects.view(N, 1, S * S).expand(N, 3, S * S).long()
    painted = torch.gather(colours.transpose(1, 2), 2, flat).view(N, 3, S, S)  # (N, 3, S, S)
    amplitude = torch.tensor(LEVEL_OBJECT_NOISE, dtype=torch.float32)[level].view(-1, 1, 1, 1)
    jitter = (torch.rand(N, 3, S, S, generator=gen) * 2 - 1) * amplitude
    painted = (painted.float() + jitter).round().clamp(0, 255).to(torch.uint8)
    images = torch.where((objects > 0).unsqueeze(1), painted, images)
    return images, {"quadrant": quadrant, "zigzag": zigzag, "left": is_left, "level": level}


# Rendered sets a process keeps for its next cells: an accuracy grid's cells of one seed train on the same
# images and all of them score the same validation images (rendering 8,192 images at 48 px takes 2 s of a core).
CACHE_BYTES = 256 * 2**20
_rendered: OrderedDict[tuple[int, int, int], tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]] = OrderedDict()


def render_cached(num: int, image_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """``render``, kept for later calls in this process (least recently used sets go past ``CACHE_BYTES``).
    The tensors are shared between callers, who only read them (``UInt8Images`` indexes copies out)."""
    key = (int(num), int(image_size), int(seed))
    if key in _rendered:
        _rendered.move_to_end(key)
        return _rendered[key]
    result = render(num, image_size, seed)
    if result[0].numel() <= CACHE_BYTES:
        _rendered[key] = result
        while sum(images.numel() for images, _, _ in _rendered.values()) > CACHE_BYTES:
            _rendered.popitem(last=False)
    return result


class SyntheticDataset(UInt8Images):
    """``num`` rendered images kept as uint8 (a 64 px image is 12 KiB), with their factors."""

    def __init__(self, num: int, image_size: int, seed: int) -> None:
        images, labels, self.factors = render_cached(num, image_size, seed)
        super().__init__(images, labels, NUM_CLASSES)


def factor_accuracy(predictions: torch.Tensor, factors: dict[str, torch.Tensor]) -> dict[str, float]:
    """Percent of images whose predicted class has the right value of each factor (label = 2q + l)."""
    predicted = {"quadrant": predictions // 2, "left": predictions % 2}
    return {name: 100.0 * float((predicted[name] == factors[name]).float().mean()) for name in FACTORS}


class _Pyramid(Protocol):
    patch_embed: str
    patch_strides: tuple[int, ...]


def tokens_are_quadrants(config: _Pyramid, image_size: int) -> bool:
    """True when a stage of non-overlapping patches tiles ``image_size`` into exactly 2 x 2 tokens (the quadrants)."""
    if config.patch_embed != "non_overlap":
        return False
    side = 1
    for stride in config.patch_strides:
        side *= stride  # each token's side in pixels at this stage
        if 2 * side == image_size:
            return True
    return False
