"""Feature collections: building them, their geometry, painting and clipping."""

from __future__ import annotations

from typing import Any

import numpy as np

from standin.algorithms import (
    Env,
    algorithm,
    as_geometry,
    as_image,
    as_list,
    as_optional_number,
)
from standin.algorithms.collections import as_collection
from standin.elements import Feature, FeatureCollection
from standin.errors import invalid_argument
from standin.geometry import Geometry, union
from standin.image import (
    Band,
    Image,
    Pixels,
    SampleContext,
    combine_masks,
    constant_dtype,
    intersect_bounds,
)


def _as_feature(value: Any, name: str) -> Feature:
    if isinstance(value, Feature):
        return value
    return Feature(as_geometry(value, name, "features"), {})


@algorithm("Collection")
def feature_collection(env: Env, features: Any) -> FeatureCollection:
    items = as_list(features, "Collection", "features")
    return FeatureCollection([_as_feature(item, "Collection") for item in items])


def collection_geometry(collection: Any, name: str) -> Geometry:
    features = as_collection(collection, name).elements
    shapes = [_as_feature(feature, name).geometry for feature in features]
    return union([shape for shape in shapes if shape is not None])


@algorithm("Collection.geometry")
def geometry(env: Env, collection: Any, maxError: Any = None) -> Geometry:
    return collection_geometry(collection, "Collection.geometry")


@algorithm("Image.clipToCollection")
def clip_to_collection(env: Env, input: Any, collection: Any) -> Image:
    name = "Image.clipToCollection"
    source = as_image(input, name, "input")
    shape = collection_geometry(collection, name)
    return source.with_bands([_clipped(band, shape) for band in source.bands])


def _clipped(band: Band, shape: Geometry) -> Band:
    def compute(context: SampleContext) -> Pixels:
        pixels = context.sample(band)
        return Pixels(
            pixels.values, combine_masks(pixels.mask, context.geometry_mask(shape))
        )

    bounds = intersect_bounds(band.bounds, shape.finite_bounds_in(band.projection.crs))
    return Band(band.name, band.dtype, band.projection, bounds, compute)


def _colours(features: list[Feature], color: Any, name: str) -> list[float]:
    """Return the paint value of each feature: a number, or a property's value."""
    if isinstance(color, str):
        values = [feature.properties.get(color) for feature in features]
        if any(not isinstance(v, (int, float)) for v in values):
            raise invalid_argument(
                f"{name}: Property '{color}' is missing or not a number "
                "on some features."
            )
        return [float(v) for v in values]  # type: ignore[arg-type]
    if isinstance(color, (int, float)) and not isinstance(color, bool):
        return [color] * len(features)
    raise invalid_argument(f"{name}: 'color' must be a number or a property name.")


@algorithm("Image.paint")
def paint(
    env: Env, image: Any, featureCollection: Any, color: Any = 0, width: Any = None
) -> Image:
    name = "Image.paint"
    source = as_image(image, name, "image")
    features = [
        _as_feature(item, name)
        for item in as_collection(featureCollection, name, "featureCollection").elements
    ]
    colours = _colours(features, color, name)
    outline = as_optional_number(width, name, "width")
    painted = [_painted(band, features, colours, outline) for band in source.bands]
    return source.with_bands(painted)


def _painted(
    band: Band, features: list[Feature], colours: list[float], outline: float | None
) -> Band:
    dtype = np.dtype(np.result_type(band.dtype, *(constant_dtype(c) for c in colours)))

    def compute(context: SampleContext) -> Pixels:
        base = context.sample(band)
        values = base.values.astype(dtype, copy=True)
        mask = None if base.mask is None else base.mask.copy()
        for feature, colour in zip(features, colours, strict=True):
            if feature.geometry is None:
                continue
            covered = context.geometry_mask(feature.geometry, outline) > 0
            values[covered] = colour
            if mask is not None:
                mask[covered] = 1.0
        return Pixels(values, mask)

    return Band(band.name, dtype, band.projection, band.bounds, compute)
