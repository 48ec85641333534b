"""Built-in synthetic task: 16 classes that need position, local continuity and global context.

Nothing is downloaded or stored; every image is rendered from a seed, at any size, tens of thousands
per second (all drawing is vectorized over the batch). The task exists so that each of PVTv2's three
changes has something to win; an image is laid out on a 4 x 4 grid of cells and holds:

1. **A marker** (a bright white filled square, side ~S/8) in a random cell. Factor ``quadrant`` (0-3) is
   the image quadrant that cell lies in. *Why:* the label depends on absolute location. A PVT with
   non-overlapping patches, no position embedding and a plain MLP has no way to know where a token is:
   at 64 px every layer either works inside one 32 x 32 block or is blind to token order (attention,
   mean pooling), so that model is exactly invariant to swapping quadrants and is at chance on this
   factor. Position embeddings (PVTv1) or zero padding in overlapping patch embeddings and the
   depthwise conv of the convolutional FFN (PVTv2) give it back.
2. **A thin line** (1 px, yellow) across the whole image, horizontal or vertical, that either runs
   straight or has a *jog*: from one point on it continues ``JOG_PX`` pixels to the side. Factor ``jog``
   (0 straight, 1 jog). The jog sits on a multiple of ``JOG_GRID`` = 4 px, the stride of PVT's first
   patch embedding, so with non-overlapping 4 x 4 patches each patch sees a perfectly straight piece
   and the break is only visible by comparing neighbours. *Why:* thin structure that crosses patch
   borders; overlapping patch embedding (kernel 7, stride 4) and the CFFN's 3 x 3 depthwise conv see
   both sides of the border at once, which is PVTv2's local-continuity argument (P2 sec 3.3).
3. **Two coloured squares** (side ~S/10) in two cells that are not neighbours (at least one cell
   apart), coloured from a palette of six hues. Factor ``same`` (1 if both have the same colour).
   *Why:* a relation between distant parts of the image: no single patch or local window holds both
   squares, so only token mixing across the image (spatial-reduction attention, or linear SRA's pooled
   keys) can compare them, and mean pooling alone cannot (two squares of one colour and two of
   different colours add up to features of the same size).

Label = ``4 * quadrant + 2 * jog + same`` (16 classes, balanced; chance 6.25 %). The background is dim
uniform noise so that nothing is perfectly flat. Drawing order (squares, marker, line) puts the
line on top, so the jog is never hidden, and cells never overlap, so neither squares nor marker are.
Train-time augmentation would break the task (a flip moves the marker to another quadrant), so there is
none: the split is a fixed set of rendered images.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import torch

from ..errors import UserInputError

NUM_CLASSES = 16
CHUNK = 128  # images rendered per vectorized step
GRID = 4  # layout cells per side
JOG_GRID = 4  # jogs land on multiples of PVT's stage-1 patch stride
JOG_PX = 2  # sideways step of a jogged line
MIN_IMAGE_SIZE = 16  # below this the cells are too small to hold the objects
NOISE_MAX = 60  # background noise amplitude (uint8)
MARKER_RGB = (255, 255, 255)
LINE_RGB = (255, 230, 0)
PALETTE = ((230, 40, 40), (40, 200, 60), (50, 90, 255), (0, 220, 220), (230, 60, 230), (255, 140, 0))


@lru_cache(maxsize=None)
def _layouts() -> torch.Tensor:
    """Every (marker cell, square A cell, square B cell) with three distinct cells and A, B not neighbours."""
    rows = []
    cells = range(GRID * GRID)
    for marker, a, b in itertools.permutations(cells, 3):
        far = max(abs(a // GRID - b // GRID), abs(a % GRID - b % GRID)) >= 2
        if far:
            rows.append((marker, a, b))
    return torch.tensor(rows, dtype=torch.long)  # (L, 3)


def _randint(gen: torch.Generator, low: int, high: torch.Tensor | int, size: int) -> torch.Tensor:
    """Uniform integers in [low, high) with a per-sample ``high`` (torch.randint takes only scalars)."""
    span = torch.as_tensor(high) - low
    return low + (torch.rand(size, generator=gen) * span).long().clamp(max=span - 1)


def _square_mask(yy: torch.Tensor, xx: torch.Tensor, top: torch.Tensor, left: torch.Tensor, side: int) -> torch.Tensor:
    """(N, S, S) mask of one axis-aligned square per image (row and column bands, broadcast)."""
    t, l = top.view(-1, 1, 1), left.view(-1, 1, 1)
    return (yy >= t) & (yy < t + side) & (xx >= l) & (xx < l + side)


def _chunk_generator(seed: int, index: int) -> torch.Generator:
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + index) % 2**63)


def check_image_size(image_size: int) -> None:
    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < MIN_IMAGE_SIZE:
        raise UserInputError(f"synthetic image_size={image_size!r} is not allowed; give an integer >= {MIN_IMAGE_SIZE}")


def render(num: int, image_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """Render ``num`` images of side ``image_size`` from ``seed``.

    Returns (images uint8 (N, 3, S, S), labels int64 (N,), factors {"quadrant", "jog", "same"} int64 (N,)).
    The same (image_size, seed) always gives the same images on any machine, and a smaller ``num`` gives a
    prefix of a larger one: images are rendered in chunks of ``CHUNK`` (which keeps the working set in
    cache, about 3x faster than one big batch), each from its own generator seeded by (seed, chunk index).
    """
    check_image_size(image_size)
    parts = [_render_chunk(CHUNK, image_size, _chunk_generator(seed, i)) for i in range(-(-num // CHUNK))]
    images = torch.cat([p[0] for p in parts] or [torch.zeros(0, 3, image_size, image_size, dtype=torch.uint8)])[:num]
    factors = {k: torch.cat([p[1][k] for p in parts] or [torch.zeros(0, dtype=torch.long)])[:num]
               for k in ("quadrant", "jog", "same")}
    labels = 4 * factors["quadrant"] + 2 * factors["jog"] + factors["same"]
    return images, labels, factors


def _render_chunk(N: int, S: int, gen: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One chunk: an object map (0 background, 1-4 objects) drawn first, coloured once at the end."""
    cell = S // GRID
    marker_side, square_side = max(2, S // 8), max(2, S // 10)
    yy = torch.arange(S, dtype=torch.int32).view(1, S, 1)
    xx = torch.arange(S, dtype=torch.int32).view(1, 1, S)
    objects = torch.zeros(N, S, S, dtype=torch.uint8)
    colours = torch.zeros(N, 5, 3, dtype=torch.uint8)  # per image: colour of object 0 (unused) .. 4

    # Layout: marker cell and two far-apart square cells, all distinct.
    layouts = _layouts()
    marker_cell, a_cell, b_cell = layouts[torch.randint(0, len(layouts), (N,), generator=gen)].unbind(1)

    # Factor "same": the squares' colours (objects 1 and 2).
    same = torch.randint(0, 2, (N,), generator=gen)
    palette = torch.tensor(PALETTE, dtype=torch.uint8)
    colour_a = torch.randint(0, len(PALETTE), (N,), generator=gen)
    shift = 1 + torch.randint(0, len(PALETTE) - 1, (N,), generator=gen)  # any other colour, uniformly
    colour_b = torch.where(same.bool(), colour_a, (colour_a + shift) % len(PALETTE))
    for obj, cells, colour in ((1, a_cell, colour_a), (2, b_cell, colour_b)):
        top = (cells // GRID) * cell + _randint(gen, 0, cell - square_side + 1, N)
        left = (cells % GRID) * cell + _randint(gen, 0, cell - square_side + 1, N)
        objects.masked_fill_(_square_mask(yy, xx, top, left, square_side), obj)
        colours[:, obj] = palette[colour]

    # Factor "quadrant": where the marker (object 3) is.
    top = (marker_cell // GRID) * cell + _randint(gen, 0, cell - marker_side + 1, N)
    left = (marker_cell % GRID) * cell + _randint(gen, 0, cell - marker_side + 1, N)
    objects.masked_fill_(_square_mask(yy, xx, top, left, marker_side), 3)
    colours[:, 3] = torch.tensor(MARKER_RGB, dtype=torch.uint8)
    half = GRID // 2
    quadrant = (marker_cell // GRID >= half).long() * 2 + (marker_cell % GRID >= half).long()

    # Factor "jog": a full-length thin line (object 4), straight or stepping JOG_PX sideways at a patch border.
    jog = torch.randint(0, 2, (N,), generator=gen)
    vertical = torch.randint(0, 2, (N,), generator=gen).bool().view(-1, 1, 1)
    offset = _randint(gen, 1, S - 1 - JOG_PX, N)  # both pieces stay inside the image
    step = jog * JOG_PX * (torch.randint(0, 2, (N,), generator=gen) * 2 - 1)  # 0 or +-JOG_PX
    step = torch.where(offset + step < 0, -step, step)
    first = -(-(S // 4) // JOG_GRID) * JOG_GRID  # first patch border in the middle half of the line
    at = first + JOG_GRID * torch.randint(0, max(1, (S // 2) // JOG_GRID), (N,), generator=gen)
    offset, step, at = (v.to(torch.int32).view(-1, 1, 1) for v in (offset, step, at))
    horizontal_line = yy == offset + step * (xx >= at)  # (N, S, S)
    vertical_line = xx == offset + step * (yy >= at)
    objects.masked_fill_(torch.where(vertical, vertical_line, horizontal_line), 4)
    colours[:, 4] = torch.tensor(LINE_RGB, dtype=torch.uint8)

    # Colour: dim noise where there is no object, the object's colour elsewhere.
    images = torch.randint(0, NOISE_MAX + 1, (N, 3, S, S), generator=gen, dtype=torch.uint8)
    flat = objects.view(N, 1, S * S).expand(N, 3, S * S).long()
    painted = torch.gather(colours.transpose(1, 2), 2, flat).view(N, 3, S, S)  # (N, 3, S, S)
    images = torch.where((objects > 0).unsqueeze(1), painted, images)
    return images, {"quadrant": quadrant, "jog": jog, "same": same}
