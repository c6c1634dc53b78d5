"""Per-pixel reductions of image collections: `reduce.*` and ImageCollection.reduce."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from standin.algorithms import Env, algorithm, as_image, as_list, as_number
from standin.algorithms.collections import (
    as_image_collection,
    band_stack,
    composite_band,
    composite_bounds,
)
from standin.elements import Reducer
from standin.errors import invalid_argument
from standin.image import Band, Image, Pixels, SampleContext

# A reduction gets (values, valid) stacks of shape (images, rows, cols) and returns
# the reduced values. The caller masks pixels that have no valid input.
Reduction = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _masked(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return np.where(valid, values, np.nan)


def _mode(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    data = _masked(values, valid)
    counts = np.stack([(data == v[None]).sum(axis=0) for v in data])
    best = np.argmax(np.where(valid, counts, -1), axis=0)
    return np.asarray(np.take_along_axis(values, best[None], axis=0)[0])


def _first(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    index = np.argmax(valid, axis=0)
    return np.asarray(np.take_along_axis(values, index[None], axis=0)[0])


def _last(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    index = len(values) - 1 - np.argmax(valid[::-1], axis=0)
    return np.asarray(np.take_along_axis(values, index[None], axis=0)[0])


REDUCTIONS: dict[str, Reduction] = {
    "mean": lambda v, ok: np.nanmean(_masked(v, ok), axis=0),
    "median": lambda v, ok: np.nanmedian(_masked(v, ok), axis=0),
    "min": lambda v, ok: np.nanmin(_masked(v, ok), axis=0),
    "max": lambda v, ok: np.nanmax(_masked(v, ok), axis=0),
    "sum": lambda v, ok: np.nansum(_masked(v, ok), axis=0),
    "product": lambda v, ok: np.nanprod(_masked(v, ok), axis=0),
    "count": lambda v, ok: ok.sum(axis=0),
    "stdDev": lambda v, ok: np.nanstd(_masked(v, ok), axis=0),
    "variance": lambda v, ok: np.nanvar(_masked(v, ok), axis=0),
    "mode": _mode,
    "first": _first,
    "last": _last,
    "and": lambda v, ok: np.all(np.where(ok, v != 0, True), axis=0),
    "or": lambda v, ok: np.any(np.where(ok, v != 0, False), axis=0),
}

# Reductions whose output keeps the input pixel type; the rest are doubles, or
# integers for count and the boolean ones.
SAME_TYPE = {"min", "max", "mode", "first", "last"}
INTEGER_OUTPUT = {"count": np.int32, "and": np.uint8, "or": np.uint8}


def _output_dtype(reduction: str, dtype: np.dtype[Any]) -> Any:
    if reduction in SAME_TYPE:
        return dtype
    return INTEGER_OUTPUT.get(reduction, np.float64)


def _reduced_compute(
    images: list[Image], band: str, reduction: Reduction, dtype: Any
) -> Any:
    def compute(context: SampleContext) -> Pixels:
        values, valid = band_stack(context, images, band)
        shape = context.grid.shape
        if len(values) == 0:
            return Pixels(np.zeros(shape, dtype), np.zeros(shape, np.float32))
        any_valid = np.asarray(valid.any(axis=0))
        # Pixels without any valid input get one fake valid zero, so the nan-aware
        # reductions never see an all-NaN slice and raise no warning. The mask
        # below hides these pixels again.
        valid = valid.copy()
        valid[0] |= ~any_valid
        values = np.where(valid, values, 0.0)
        with np.errstate(all="ignore"):
            reduced = reduction(values, valid)
        reduced = np.where(any_valid, np.nan_to_num(reduced), 0).astype(dtype)
        return Pixels(
            reduced, None if any_valid.all() else any_valid.astype(np.float32)
        )

    return compute


def reduce_collection(
    collection: Any, reduction_name: str, suffix: str | None, algorithm_name: str
) -> Image:
    source = as_image_collection(collection, algorithm_name)
    reduction = REDUCTIONS[reduction_name]
    images = source.elements
    bounds = composite_bounds(images)
    bands = []
    for band in images[0].bands if images else []:
        dtype = _output_dtype(reduction_name, band.dtype)
        name = band.name if suffix is None else f"{band.name}_{suffix}"
        compute = _reduced_compute(images, band.name, reduction, dtype)
        bands.append(composite_band(name, dtype, bounds, compute))
    return Image(bands)


def _register_reduce(reduction_name: str) -> None:
    name = f"reduce.{reduction_name}"

    def run(env: Env, collection: Any) -> Image:
        return reduce_collection(collection, reduction_name, None, name)

    algorithm(name)(run)


for _reduction in (
    "mean",
    "median",
    "min",
    "max",
    "sum",
    "product",
    "count",
    "mode",
    "and",
    "or",
):
    _register_reduce(_reduction)


# --- Reducer objects ------------------------------------------------------------------


# Reducer constructors take tuning arguments that do not change the result here.
def _no_options(reduction_name: str) -> Any:
    def constructor(env: Env) -> Reducer:
        return Reducer(reduction_name)

    return constructor


def _input_count_option(reduction_name: str) -> Any:
    def constructor(env: Env, numInputs: Any = None) -> Reducer:
        return Reducer(reduction_name)

    return constructor


def _histogram_options(reduction_name: str) -> Any:
    def constructor(
        env: Env, maxBuckets: Any = None, minBucketWidth: Any = None, maxRaw: Any = None
    ) -> Reducer:
        return Reducer(reduction_name)

    return constructor


for _reduction in (
    "mean",
    "sum",
    "product",
    "count",
    "stdDev",
    "variance",
    "first",
    "last",
):
    algorithm(f"Reducer.{_reduction}")(_no_options(_reduction))
for _reduction in ("min", "max"):
    algorithm(f"Reducer.{_reduction}")(_input_count_option(_reduction))
for _reduction in ("median", "mode"):
    algorithm(f"Reducer.{_reduction}")(_histogram_options(_reduction))


@algorithm("Reducer.percentile")
def percentile(
    env: Env,
    percentiles: Any,
    outputNames: Any = None,
    maxBuckets: Any = None,
    minBucketWidth: Any = None,
    maxRaw: Any = None,
) -> Reducer:
    values = [
        as_number(p, "Reducer.percentile", "percentiles")
        for p in as_list(percentiles, "Reducer.percentile", "percentiles")
    ]
    names = outputNames or [
        f"p{int(p) if float(p).is_integer() else p}" for p in values
    ]
    return Reducer("percentile", {"percentiles": values, "names": names})


@algorithm("Reducer.minMax")
def min_max(env: Env) -> Reducer:
    return Reducer("minMax")


@algorithm("ImageCollection.reduce")
def reduce_image_collection(
    env: Env, collection: Any, reducer: Any, parallelScale: Any = 1
) -> Image:
    name = "ImageCollection.reduce"
    if not isinstance(reducer, Reducer):
        raise invalid_argument(f"{name}: Invalid type for argument 'reducer'.")
    if reducer.name == "percentile":
        return _percentiles(collection, reducer, name)
    if reducer.name == "minMax":
        low = reduce_collection(collection, "min", "min", name)
        high = reduce_collection(collection, "max", "max", name)
        return _interleave(low, high)
    return reduce_collection(collection, reducer.name, reducer.name, name)


def _interleave(*images: Image) -> Image:
    bands = [
        band for group in zip(*(i.bands for i in images), strict=True) for band in group
    ]
    return Image(bands)


def _percentiles(collection: Any, reducer: Reducer, name: str) -> Image:
    source = as_image_collection(collection, name)
    images = source.elements
    bounds = composite_bounds(images)
    outputs = []
    for band in images[0].bands if images else []:
        for value, label in zip(
            reducer.options["percentiles"], reducer.options["names"], strict=True
        ):
            reduction = percentile_reduction(value)
            compute = _reduced_compute(images, band.name, reduction, np.float64)
            outputs.append(
                composite_band(f"{band.name}_{label}", np.float64, bounds, compute)
            )
    return Image(outputs)


def percentile_reduction(value: float) -> Reduction:
    return lambda v, ok: np.nanpercentile(_masked(v, ok), value, axis=0)


# --- Across bands and into bands ------------------------------------------------------


def _bands_compute(image: Image, reduction: Reduction, dtype: Any) -> Any:
    def compute(context: SampleContext) -> Pixels:
        samples = [context.sample(band) for band in image.bands]
        values = np.stack([p.values.astype(np.float64) for p in samples])
        valid = np.stack(
            [
                np.ones(context.grid.shape, bool) if p.mask is None else p.mask > 0
                for p in samples
            ]
        )
        any_valid = np.asarray(valid.any(axis=0))
        valid[0] |= ~any_valid
        with np.errstate(all="ignore"):
            reduced = reduction(np.where(valid, values, 0.0), valid)
        reduced = np.where(any_valid, np.nan_to_num(reduced), 0).astype(dtype)
        return Pixels(
            reduced, None if any_valid.all() else any_valid.astype(np.float32)
        )

    return compute


def _reduced_band(image: Image, name: str, reduction: Reduction, dtype: Any) -> Band:
    first = image.bands[0]
    compute = _bands_compute(image, reduction, dtype)
    return Band(name, np.dtype(dtype), first.projection, first.bounds, compute)


@algorithm("Image.reduce")
def reduce_bands(env: Env, image: Any, reducer: Any) -> Image:
    """Reduce each pixel across the image's bands into one band per reducer output."""
    name = "Image.reduce"
    source = as_image(image, name, "image")
    if not isinstance(reducer, Reducer):
        raise invalid_argument(f"{name}: Invalid type for argument 'reducer'.")
    if not source.bands:
        raise invalid_argument(f"{name}: The image has no bands.")
    dtype_in = np.result_type(*(band.dtype for band in source.bands))
    if reducer.name == "percentile":
        bands = [
            _reduced_band(source, label, percentile_reduction(p), np.float64)
            for p, label in zip(
                reducer.options["percentiles"], reducer.options["names"], strict=True
            )
        ]
    elif reducer.name == "minMax":
        bands = [
            _reduced_band(source, "min", REDUCTIONS["min"], dtype_in),
            _reduced_band(source, "max", REDUCTIONS["max"], dtype_in),
        ]
    else:
        dtype = _output_dtype(reducer.name, np.dtype(dtype_in))
        bands = [_reduced_band(source, reducer.name, REDUCTIONS[reducer.name], dtype)]
    return Image(bands, dict(source.properties), source.grid)


@algorithm("ImageCollection.toBands")
def to_bands(env: Env, collection: Any) -> Image:
    """Stack every image's bands, named `<system:index>_<band>`."""
    source = as_image_collection(collection, "ImageCollection.toBands")
    bands: list[Band] = []
    for position, image in enumerate(source.elements):
        prefix = image.properties.get("system:index", str(position))
        bands.extend(band.renamed(f"{prefix}_{band.name}") for band in image.bands)
    return Image(bands)
