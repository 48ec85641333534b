"""A training job: one accuracy run, resolved once into a frozen object that is hashed, run and recorded as is.

``train_job`` resolves every setting (the recipe's values, the data spec's defaults, the device speed settings,
the test sizes, the model as it will be built) from ``pvtlab.defaults`` and ``pvtlab.train.recipe``; nothing
downstream resolves it again. A grid cell's id is the hash of ``identity()``, a worker runs the job it is
given (accuracy.py), and the row records ``to_json()`` once as ``job_json``. ``checkpoint_every_s`` is the one
field outside the identity: how often a run saves does not change what it computes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .. import defaults
from ..data.spec import resolve_data_spec
from ..errors import Rule, UserInputError, check_fields, non_negative_int, number_in, positive_int
from ..models.config import PVTConfig
from .recipe import ARGUMENTS, Recipe, resolve_recipe
from .resolution import check_eval_sizes, default_eval_sizes
from .runtime import Speed, resolve_speed

NOT_IN_ID = {"in_id": False}
# What a spec's ``accuracy.options`` may set: the recipe arguments, any other recipe field by name and the speed
# settings. A task's own keys (epochs, steps, recipe, nproc_per_node, eval_sizes, checkpoint_every_s) set the rest.
OPTIONS = (*ARGUMENTS, "recipe_options", "amp_dtype", "channels_last", "compile", "num_workers")
# The job's own arguments (the recipe's fields have theirs in recipe.RULES, the speed settings in runtime.RULES).
ARGUMENT_RULES: dict[str, Rule] = {
    "image_size": positive_int("give a positive integer (px)", optional=False),
    "seed": non_negative_int(optional=False),
    "nproc_per_node": positive_int("give a positive integer", optional=False),
}


@dataclass(frozen=True)
class TrainJob:
    """Everything one accuracy run is: the model as built (``img_size`` the training size, ``drop_path_rate``
    the recipe's; ``num_classes`` comes from the data when it is loaded), its data, seed, recipe and speed."""

    config: PVTConfig
    data: Mapping[str, Any]  # the data spec, defaults written out
    image_size: int
    seed: int
    recipe: Recipe
    speed: Speed  # resolved for the job's device (speed.device)
    eval_sizes: tuple[int, ...]  # test sizes the trained model is scored at, the training size among them
    checkpoint_every_s: float = field(default=defaults.CHECKPOINT_EVERY_S, metadata=NOT_IN_ID)

    def __post_init__(self) -> None:
        check_fields(self, {"checkpoint_every_s": number_in(0.0)})

    @property
    def device(self) -> str:
        return self.speed.device

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "train", "config": self.config.to_dict(), "data": dict(self.data),
                "image_size": self.image_size, "seed": self.seed, "recipe": self.recipe.to_dict(),
                "speed": dataclasses.asdict(self.speed), "eval_sizes": list(self.eval_sizes),
                "checkpoint_every_s": self.checkpoint_every_s}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def identity(self) -> dict[str, Any]:
        """What the run's results depend on: every field but those marked ``NOT_IN_ID``."""
        skip = {f.name for f in dataclasses.fields(self) if f.metadata == NOT_IN_ID}
        return {k: v for k, v in self.to_dict().items() if k not in skip}

    def fingerprint(self) -> str:
        """Hash of ``identity()``: a checkpoint written under another fingerprint is refused."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TrainJob:
        return cls(config=PVTConfig(**raw["config"]), data=dict(raw["data"]), image_size=raw["image_size"],
                   seed=raw["seed"], recipe=Recipe(**raw["recipe"]), speed=Speed(**raw["speed"]),
                   eval_sizes=tuple(raw["eval_sizes"]), checkpoint_every_s=raw["checkpoint_every_s"])


def train_job(config: PVTConfig, data: Mapping[str, Any], *, image_size: int, seed: int = 0,
              epochs: int | None = None, steps: int | None = None, batch_size: int | None = None,
              lr: float | None = None, warmup: float | None = None, label_smoothing: float | None = None,
              clip_grad: float | None = None, drop_path: float | None = None, recipe: str = defaults.RECIPE,
              recipe_options: Mapping[str, Any] | None = None, amp_dtype: str | None = defaults.TRAIN_AMP_DTYPE,
              channels_last: bool = defaults.CHANNELS_LAST, compile: bool | str = defaults.TRAIN_COMPILE,
              num_workers: int | None = defaults.NUM_WORKERS, nproc_per_node: int = defaults.NPROC_PER_NODE,
              checkpoint_every_s: float = defaults.CHECKPOINT_EVERY_S, eval_sizes: Sequence[int] | None = None,
              device: str = "cpu") -> TrainJob:
    """The resolved job of training ``config`` on ``data`` at ``image_size`` px (arguments: ``run_accuracy``).
    Bad values raise UserInputError naming the value and what is allowed, before anything is built."""
    if not isinstance(config, PVTConfig):
        raise UserInputError(f"config={type(config).__name__!r} is not allowed; give a pvtlab PVTConfig")
    check_fields({"image_size": image_size, "seed": seed, "nproc_per_node": nproc_per_node}, ARGUMENT_RULES)
    arguments = dict(epochs=epochs, steps=steps, batch_size=batch_size, lr=lr, warmup=warmup,
                     label_smoothing=label_smoothing, clip_grad=clip_grad, drop_path=drop_path)
    resolved = resolve_recipe(recipe, config, arguments=arguments, recipe_options=recipe_options,
                              nproc=nproc_per_node)
    try:
        built = config.replace(img_size=image_size, drop_path_rate=resolved.drop_path)
    except ValueError as err:
        raise UserInputError(str(err)) from None
    smallest = built.min_input_size()
    if image_size < smallest:
        raise UserInputError(f"image_size={image_size} is too small for this model; it needs at least {smallest} "
                             f"px (patch_strides {built.patch_strides}, sr_ratios {built.sr_ratios}, "
                             f"attention {built.attention!r})")
    sizes = check_eval_sizes(default_eval_sizes(image_size, smallest) if eval_sizes is None else eval_sizes,
                             image_size, smallest)
    speed = resolve_speed(device, amp_dtype=amp_dtype, channels_last=channels_last, compile=compile,
                          num_workers=num_workers, nproc=nproc_per_node)
    return TrainJob(config=built, data=resolve_data_spec(data), image_size=image_size, seed=seed, recipe=resolved,
                    speed=speed, eval_sizes=tuple(sizes), checkpoint_every_s=checkpoint_every_s)
