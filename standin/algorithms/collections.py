"""Image collections: loading, filtering, mapping, ordering and mosaics."""

from __future__ import annotations

from typing import Any

import numpy as np

from standin.algorithms import Env, algorithm, as_list, as_number, as_string
from standin.elements import (
    Collection,
    Feature,
    FeatureCollection,
    Filter,
    ImageCollection,
)
from standin.errors import invalid_argument
from standin.image import (
    DEFAULT_PROJECTION,
    Band,
    Image,
    Pixels,
    SampleContext,
    load_image,
    transform_bounds,
)
from standin.projection import WGS84, Bounds


def as_collection(value: Any, name: str, argument: str = "collection") -> Collection:
    """Accept a collection, or a list of Images or Features."""
    if isinstance(value, Collection):
        return value
    if isinstance(value, list) and all(isinstance(item, Image) for item in value):
        return ImageCollection(list(value))
    if isinstance(value, list) and all(isinstance(item, Feature) for item in value):
        return FeatureCollection(list(value))
    raise invalid_argument(
        f"{name}: Invalid type for argument '{argument}'. Expected type: Collection. "
        f"Actual type: {type(value).__name__}."
    )


def as_image_collection(
    value: Any, name: str, argument: str = "collection"
) -> ImageCollection:
    collection = as_collection(value, name, argument)
    if not isinstance(collection, ImageCollection):
        raise invalid_argument(f"{name}: Expected an ImageCollection.")
    return collection


def collection_of(elements: list[Any], properties: dict[str, Any]) -> Collection:
    """Return an ImageCollection of Images, else a FeatureCollection."""
    if all(isinstance(element, Image) for element in elements) and elements:
        return ImageCollection(elements, properties)
    return FeatureCollection(elements, properties)


@algorithm("ImageCollection.load")
def load(env: Env, id: Any, version: Any = None) -> ImageCollection:
    asset_id = as_string(id, "ImageCollection.load", "id")
    collection = env.catalog.collection(asset_id)
    images = [load_image(env.catalog, image_id) for image_id in collection.image_ids]
    return ImageCollection(images, {"system:id": asset_id})


@algorithm("ImageCollection.fromImages")
def from_images(env: Env, images: Any) -> ImageCollection:
    items = as_list(images, "ImageCollection.fromImages", "images")
    if not all(isinstance(item, Image) for item in items):
        raise invalid_argument(
            "ImageCollection.fromImages: Every element must be an Image."
        )
    return ImageCollection(items)


@algorithm("ImageCollection.merge")
def merge(env: Env, collection1: Any, collection2: Any) -> Collection:
    first = as_collection(collection1, "ImageCollection.merge", "collection1")
    second = as_collection(collection2, "ImageCollection.merge", "collection2")
    return first.with_elements(first.elements + second.elements)


@algorithm("Collection.filter")
def filter_collection(env: Env, collection: Any, filter: Any) -> Collection:
    source = as_collection(collection, "Collection.filter")
    if not isinstance(filter, Filter):
        raise invalid_argument("Collection.filter: Invalid type for argument 'filter'.")
    kept = [element for element in source.elements if filter.test(element)]
    return source.with_elements(kept)


@algorithm("Collection.map")
def map_collection(
    env: Env, collection: Any, baseAlgorithm: Any, dropNulls: Any = False
) -> Collection:
    source = as_collection(collection, "Collection.map")
    argument_names = getattr(baseAlgorithm, "argument_names", None)
    results = []
    for element in source.elements:
        if argument_names is not None:
            arguments = {argument_names[0]: element}
        else:
            arguments = {"input": element}
        result = env.call(baseAlgorithm, arguments)
        if result is None and dropNulls:
            continue
        results.append(result)
    if not results:
        return source.with_elements([])
    return collection_of(results, dict(source.properties))


@algorithm("Collection.first")
def first(env: Env, collection: Any) -> Any:
    images = as_collection(collection, "Collection.first").elements
    return images[0] if images else None


@algorithm("Collection.size")
def size(env: Env, collection: Any) -> int:
    return len(as_collection(collection, "Collection.size").elements)


@algorithm("Collection.toList")
def to_list(env: Env, collection: Any, count: Any, offset: Any = 0) -> list[Any]:
    images = as_collection(collection, "Collection.toList").elements
    start = int(offset or 0)
    end = None if count is None else start + int(count)
    return images[start:end]


@algorithm("Collection.limit")
def limit(
    env: Env, collection: Any, limit: Any = None, key: Any = None, ascending: Any = True
) -> Collection:
    name = "Collection.limit"
    source = as_collection(collection, name)
    images = list(source.elements)
    if key is not None:
        field = as_string(key, name, "key")
        present = [i for i in images if i.properties.get(field) is not None]
        missing = [i for i in images if i.properties.get(field) is None]
        present.sort(key=lambda i: i.properties[field], reverse=not ascending)
        images = present + missing
    if limit is not None:
        images = images[: int(as_number(limit, name, "limit"))]
    return source.with_elements(images)


# --- Composites -----------------------------------------------------------------------


def composite_bounds(images: list[Image]) -> Bounds | None:
    """Return the lon/lat union of the images' footprints (None if any is unbounded)."""
    boxes = []
    for image in images:
        for band in image.bands[:1]:
            if band.bounds is None:
                return None
            boxes.append(transform_bounds(band.bounds, band.projection.crs, WGS84))
    if not boxes:
        return None
    xs0, ys0, xs1, ys1 = zip(*boxes, strict=True)
    return min(xs0), min(ys0), max(xs1), max(ys1)


def composite_band(name: str, dtype: Any, bounds: Bounds | None, compute: Any) -> Band:
    # Composites take Earth Engine's default projection: WGS84 at 1 degree.
    return Band(name, np.dtype(dtype), DEFAULT_PROJECTION, bounds, compute)


def band_stack(
    context: SampleContext, images: list[Image], name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return (values, valid) stacks of shape (images, rows, cols) for one band name."""
    values = []
    valid = []
    for image in images:
        band = next((b for b in image.bands if b.name == name), None)
        if band is None:
            continue
        pixels = context.sample(band)
        values.append(pixels.values.astype(np.float64))
        ok = (
            np.ones(context.grid.shape, bool)
            if pixels.mask is None
            else pixels.mask > 0
        )
        valid.append(ok)
    if not values:
        empty = np.zeros((0, *context.grid.shape))
        return empty, empty.astype(bool)
    return np.stack(values), np.stack(valid)


def _first_band_names(collection: ImageCollection, name: str) -> list[Band]:
    if not collection.elements:
        return []
    first_image: Image = collection.elements[0]
    return first_image.bands


@algorithm("ImageCollection.mosaic")
def mosaic(env: Env, collection: Any) -> Image:
    source = as_image_collection(collection, "ImageCollection.mosaic")
    images = source.elements
    bounds = composite_bounds(images)
    bands = [
        composite_band(
            band.name, band.dtype, bounds, _mosaic_compute(images, band.name)
        )
        for band in _first_band_names(source, "ImageCollection.mosaic")
    ]
    return Image(bands)


def _mosaic_compute(images: list[Image], name: str) -> Any:
    def compute(context: SampleContext) -> Pixels:
        values, valid = band_stack(context, images, name)
        if len(values) == 0:
            return Pixels(
                np.zeros(context.grid.shape), np.zeros(context.grid.shape, np.float32)
            )
        # Later images lie on top: pick the last valid layer at each pixel.
        last = len(values) - 1 - np.argmax(valid[::-1], axis=0)
        chosen = np.take_along_axis(values, last[None], axis=0)[0]
        any_valid = np.asarray(valid.any(axis=0))
        return Pixels(chosen, None if any_valid.all() else any_valid.astype(np.float32))

    return compute


@algorithm("ImageCollection.qualityMosaic")
def quality_mosaic(env: Env, collection: Any, qualityBand: Any) -> Image:
    name = "ImageCollection.qualityMosaic"
    source = as_image_collection(collection, name)
    quality = as_string(qualityBand, name, "qualityBand")
    images = source.elements
    if images and quality not in images[0].band_names:
        raise invalid_argument(f"{name}: Quality band '{quality}' not found.")
    bounds = composite_bounds(images)
    bands = [
        composite_band(
            band.name, band.dtype, bounds, _quality_compute(images, band.name, quality)
        )
        for band in _first_band_names(source, name)
    ]
    return Image(bands)


def _quality_compute(images: list[Image], name: str, quality: str) -> Any:
    def compute(context: SampleContext) -> Pixels:
        scores, score_valid = band_stack(context, images, quality)
        values, valid = band_stack(context, images, name)
        ranked = np.where(score_valid & valid, scores, -np.inf)
        best = np.argmax(ranked, axis=0)
        chosen = np.take_along_axis(values, best[None], axis=0)[0]
        any_valid = (score_valid & valid).any(axis=0)
        return Pixels(chosen, None if any_valid.all() else any_valid.astype(np.float32))

    return compute
