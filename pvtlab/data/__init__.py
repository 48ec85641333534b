"""Datasets for accuracy cells: the built-in synthetic task, ImageFolder trees and local CIFAR-10/100.

Entry points: ``validate_data_spec(spec)`` (cheap checks, for the grid's spec validation) and
``build_datasets(spec, image_size, seed) -> (train, val, num_classes)``. Spec forms: see spec.py.
"""

from .spec import ALLOWED_KEYS, SYNTHETIC_DEFAULTS, build_datasets, validate_data_spec
from .synthetic import NUM_CLASSES as SYNTHETIC_NUM_CLASSES
from .synthetic import SyntheticDataset, render

DATA_NAMES = tuple(sorted(ALLOWED_KEYS))

__all__ = ["DATA_NAMES", "SYNTHETIC_DEFAULTS", "SYNTHETIC_NUM_CLASSES", "SyntheticDataset", "build_datasets",
           "render", "validate_data_spec"]
