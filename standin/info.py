"""JSON descriptions of evaluated values, as value:compute (getInfo) returns them."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from standin.algorithms import Algorithm
from standin.elements import Collection, Date, DateRange, Feature
from standin.errors import invalid_argument
from standin.evaluator import Closure
from standin.geometry import Geometry
from standin.image import Image
from standin.projection import Projection, grid_for_bounds


def type_label(value: Any) -> str:
    if isinstance(value, (Algorithm, Closure)) or callable(value):
        return "Function"
    return type(value).__name__


def _pixel_type(dtype: np.dtype[Any]) -> dict[str, Any]:
    if np.issubdtype(dtype, np.integer):
        limits = np.iinfo(dtype)
        return {
            "type": "PixelType",
            "precision": "int",
            "min": int(limits.min),
            "max": int(limits.max),
        }
    precision = "double" if dtype.itemsize == 8 else "float"
    return {"type": "PixelType", "precision": precision}


def image_info(image: Image) -> dict[str, Any]:
    bands = []
    for band in image.bands:
        info: dict[str, Any] = {
            "id": band.name,
            "data_type": _pixel_type(band.dtype),
            "crs": band.projection.crs,
            "crs_transform": list(band.projection.transform),
        }
        if band.bounds is not None:
            grid = grid_for_bounds(band.projection, band.bounds)
            info["dimensions"] = [grid.width, grid.height]
        bands.append(info)
    return {
        "type": "Image",
        "bands": bands,
        "properties": _properties(image.properties),
    }


def _properties(properties: dict[str, Any]) -> dict[str, Any]:
    return {key: to_json(value) for key, value in properties.items()}


def _object_json(value: Any) -> Any:
    if isinstance(value, Image):
        return image_info(value)
    if isinstance(value, Collection):
        return {
            "type": type(value).__name__,
            "bands": [],
            "features": [to_json(image) for image in value.elements],
            "properties": _properties(value.properties),
        }
    if isinstance(value, Geometry):
        return value.to_geojson()
    if isinstance(value, Feature):
        geometry = None if value.geometry is None else value.geometry.to_geojson()
        return {
            "type": "Feature",
            "geometry": geometry,
            "properties": _properties(value.properties),
        }
    if isinstance(value, Date):
        return {"type": "Date", "value": value.millis}
    if isinstance(value, DateRange):
        return {"type": "DateRange", "dates": [value.start, value.end]}
    if isinstance(value, Projection):
        return value.to_json()
    raise invalid_argument(
        f"Cannot return a value of type {type_label(value)} as JSON."
    )


def to_json(value: Any) -> Any:
    """Convert an evaluated value to the JSON that value:compute returns."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return _object_json(value)
