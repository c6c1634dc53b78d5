"""Kernels, convolution and focal (moving-window) statistics.

Like terrain, these run on the input band's own pixel grid (grown by the kernel
radius) and the result is then resampled to the output grid, because a kernel
counts pixels of the input, not of the thumbnail.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from standin.algorithms import Env, algorithm, as_image, as_number, as_string
from standin.algorithms.image_spatial import reprojected_band
from standin.errors import invalid_argument
from standin.image import Band, Image, Pixels, SampleContext


@dataclass(frozen=True)
class Kernel:
    """A kernel shape whose weights are made once the pixel size is known."""

    shape: str
    radius: float
    units: str = "pixels"
    normalize: bool = True
    magnitude: float = 1.0
    sigma: float = 1.0

    def weights(self, metres_per_pixel: float) -> np.ndarray:
        radius = (
            self.radius if self.units == "pixels" else self.radius / metres_per_pixel
        )
        sigma = self.sigma if self.units == "pixels" else self.sigma / metres_per_pixel
        size = max(0, math.floor(radius))
        offsets = np.arange(-size, size + 1, dtype=np.float64)
        dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
        weights = _SHAPES[self.shape](dx, dy, radius, sigma)
        if self.normalize and weights.sum() != 0:
            weights = weights / weights.sum()
        return weights * self.magnitude


_SHAPES: dict[str, Callable[[np.ndarray, np.ndarray, float, float], np.ndarray]] = {
    "square": lambda dx, dy, r, s: np.ones_like(dx),
    "circle": lambda dx, dy, r, s: (np.hypot(dx, dy) <= r).astype(np.float64),
    "diamond": lambda dx, dy, r, s: (np.abs(dx) + np.abs(dy) <= r).astype(np.float64),
    "plus": lambda dx, dy, r, s: ((dx == 0) | (dy == 0)).astype(np.float64),
    "gaussian": lambda dx, dy, r, s: np.exp(-(dx**2 + dy**2) / (2 * s**2)),
}

_FIXED = {
    "laplacian4": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
    "laplacian8": np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], dtype=np.float64),
}


@dataclass(frozen=True, eq=False)
class FixedKernel:
    """A kernel with given weights, such as a Laplacian."""

    matrix: np.ndarray

    @property
    def radius(self) -> float:
        return float(self.matrix.shape[0] // 2)

    def weights(self, metres_per_pixel: float) -> np.ndarray:
        return self.matrix


def _register_shape(shape: str) -> None:
    name = f"Kernel.{shape}"

    def build(
        env: Env,
        radius: Any,
        units: Any = "pixels",
        normalize: Any = True,
        magnitude: Any = 1,
    ) -> Kernel:
        return Kernel(
            shape,
            as_number(radius, name, "radius"),
            _units(units, name),
            bool(normalize),
            as_number(magnitude, name, "magnitude"),
        )

    algorithm(name)(build)


for _shape in ("square", "circle", "diamond", "plus"):
    _register_shape(_shape)


def _units(value: Any, name: str) -> str:
    units = as_string(value, name, "units")
    if units not in ("pixels", "meters"):
        raise invalid_argument(
            f"{name}: Units must be 'pixels' or 'meters', got '{units}'."
        )
    return units


@algorithm("Kernel.gaussian")
def gaussian(
    env: Env,
    radius: Any,
    sigma: Any = 1,
    units: Any = "pixels",
    normalize: Any = True,
    magnitude: Any = 1,
) -> Kernel:
    name = "Kernel.gaussian"
    return Kernel(
        "gaussian",
        as_number(radius, name, "radius"),
        _units(units, name),
        bool(normalize),
        as_number(magnitude, name, "magnitude"),
        as_number(sigma, name, "sigma"),
    )


def _register_fixed(shape: str) -> None:
    def build(env: Env, magnitude: Any = 1, normalize: Any = False) -> FixedKernel:
        matrix = _FIXED[shape] * as_number(magnitude, f"Kernel.{shape}", "magnitude")
        return FixedKernel(matrix)

    algorithm(f"Kernel.{shape}")(build)


for _shape in _FIXED:
    _register_fixed(_shape)


# --- Applying kernels -----------------------------------------------------------------

Window = Callable[[np.ndarray, np.ndarray | None, np.ndarray], tuple[np.ndarray, Any]]


def _windowed_band(
    band: Band, kernel: Kernel | FixedKernel, window: Window, dtype: Any
) -> Band:
    metres = band.projection.nominal_scale()
    weights = kernel.weights(metres)
    margin = weights.shape[0] // 2

    def compute(context: SampleContext) -> Pixels:
        wide = context.derive(context.grid.expanded(margin)).sample(band)
        values, mask = window(wide.values.astype(np.float64), wide.mask, weights)
        inner = (slice(margin, -margin or None), slice(margin, -margin or None))
        inner_mask = None if mask is None else np.asarray(mask, np.float32)[inner]
        return Pixels(values[inner].astype(dtype), inner_mask)

    native = Band(band.name, np.dtype(dtype), band.projection, band.bounds, compute)
    return reprojected_band(native, band.projection)


def _weighted_mean(
    values: np.ndarray, mask: np.ndarray | None, weights: np.ndarray
) -> Any:
    valid = np.ones_like(values) if mask is None else (mask > 0).astype(np.float64)
    total = ndimage.correlate(values * valid, weights, mode="nearest")
    norm = ndimage.correlate(valid, np.abs(weights), mode="nearest")
    with np.errstate(all="ignore"):
        mean = np.where(norm > 0, total / norm * np.abs(weights).sum(), 0.0)
    return mean, None if mask is None else (norm > 0)


def _convolution(
    values: np.ndarray, mask: np.ndarray | None, weights: np.ndarray
) -> Any:
    filled = values if mask is None else np.where(mask > 0, values, 0.0)
    return ndimage.correlate(filled, weights, mode="nearest"), mask


def _extreme(pick_max: bool) -> Window:
    def run(values: np.ndarray, mask: np.ndarray | None, weights: np.ndarray) -> Any:
        fill = -np.inf if pick_max else np.inf
        filled = values if mask is None else np.where(mask > 0, values, fill)
        footprint = weights != 0
        window = ndimage.maximum_filter if pick_max else ndimage.minimum_filter
        result = window(filled, footprint=footprint, mode="nearest")
        found = np.isfinite(result)
        return np.where(found, result, 0.0), None if mask is None else found

    return run


def _median(values: np.ndarray, mask: np.ndarray | None, weights: np.ndarray) -> Any:
    # NOTE: masked pixels take part in the median; a mask-aware filter is slower.
    return ndimage.median_filter(values, footprint=weights != 0, mode="nearest"), mask


_FOCAL: dict[str, tuple[Window, bool]] = {
    "mean": (_weighted_mean, False),
    "max": (_extreme(True), True),
    "min": (_extreme(False), True),
    "median": (_median, False),
}


def _focal_kernel(
    name: str, radius: Any, kernelType: Any, units: Any, kernel: Any
) -> Any:
    if kernel is not None:
        if not isinstance(kernel, (Kernel, FixedKernel)):
            raise invalid_argument(f"{name}: Invalid type for argument 'kernel'.")
        return kernel
    shape = as_string(kernelType, name, "kernelType")
    if shape not in _SHAPES or shape == "gaussian":
        raise invalid_argument(f"{name}: Unsupported kernelType '{shape}'.")
    return Kernel(shape, as_number(radius, name, "radius"), _units(units, name))


def _register_focal(statistic: str) -> None:
    window, keeps_type = _FOCAL[statistic]

    def run(
        env: Env,
        image: Any,
        radius: Any = 1.5,
        kernelType: Any = "circle",
        units: Any = "pixels",
        iterations: Any = 1,
        kernel: Any = None,
    ) -> Image:
        name = f"Image.focal_{statistic}"
        source = as_image(image, name, "image")
        chosen = _focal_kernel(name, radius, kernelType, units, kernel)
        bands = []
        for band in source.bands:
            dtype = band.dtype if keeps_type else np.float64
            result = band
            for _ in range(max(1, int(as_number(iterations, name, "iterations")))):
                result = _windowed_band(result, chosen, window, dtype)
            bands.append(result)
        return source.with_bands(bands)

    algorithm(f"Image.focal_{statistic}")(run)
    algorithm(f"Image.focal{statistic.capitalize()}")(run)


for _statistic in _FOCAL:
    _register_focal(_statistic)


@algorithm("Image.convolve")
def convolve(env: Env, image: Any, kernel: Any) -> Image:
    source = as_image(image, "Image.convolve", "image")
    if not isinstance(kernel, (Kernel, FixedKernel)):
        raise invalid_argument("Image.convolve: Invalid type for argument 'kernel'.")
    bands = [
        _windowed_band(band, kernel, _convolution, np.float64) for band in source.bands
    ]
    return source.with_bands(bands)
