"""Loading images, choosing and naming bands, and image properties."""

from __future__ import annotations

from typing import Any

from standin.algorithms import (
    Env,
    algorithm,
    as_image,
    as_list,
    as_string,
    as_string_list,
)
from standin.cloud_geotiff import load_geotiff_asset
from standin.elements import Date, Feature
from standin.errors import invalid_argument
from standin.image import (
    Band,
    Image,
    constant_image,
    image_from_asset,
    load_image,
    select_bands,
)


@algorithm("Image.load")
def load(env: Env, id: Any, version: Any = None) -> Image:
    return load_image(env.catalog, as_string(id, "Image.load", "id"))


@algorithm("Image.loadGeoTIFF")
def load_geotiff(env: Env, uri: Any) -> Image:
    asset = load_geotiff_asset(env.catalog, as_string(uri, "Image.loadGeoTIFF", "uri"))
    return image_from_asset(env.catalog, asset)


@algorithm("Image.constant")
def constant(env: Env, value: Any) -> Image:
    return constant_image(value)


def rename_bands(
    bands: list[Band], names: list[str], algorithm_name: str
) -> list[Band]:
    if len(names) != len(bands):
        raise invalid_argument(
            f"{algorithm_name}: Can't rename {len(bands)} bands to {len(names)} names."
        )
    return [band.renamed(name) for band, name in zip(bands, names, strict=True)]


@algorithm("Image.select")
def select(env: Env, input: Any, bandSelectors: Any, newNames: Any = None) -> Image:
    name = "Image.select"
    image = as_image(input, name, "input")
    selectors = bandSelectors if isinstance(bandSelectors, list) else [bandSelectors]
    bands = select_bands(image, selectors, name)
    if newNames is not None:
        bands = rename_bands(bands, as_string_list(newNames, name, "newNames"), name)
    return image.with_bands(bands)


@algorithm("Image.rename")
def rename(env: Env, input: Any, names: Any) -> Image:
    image = as_image(input, "Image.rename", "input")
    names_list = as_string_list(names, "Image.rename", "names")
    return image.with_bands(rename_bands(image.bands, names_list, "Image.rename"))


@algorithm("Image.addBands")
def add_bands(
    env: Env, dstImg: Any, srcImg: Any, names: Any = None, overwrite: Any = False
) -> Image:
    name = "Image.addBands"
    destination = as_image(dstImg, name, "dstImg")
    source = as_image(srcImg, name, "srcImg")
    added = source.bands
    if names is not None:
        added = select_bands(source, as_list(names, name, "names"), name)
    bands = list(destination.bands)
    for band in added:
        existing = [i for i, b in enumerate(bands) if b.name == band.name]
        if existing and not overwrite:
            band = band.renamed(_unique_name(band.name, bands))
        elif existing:
            bands.pop(existing[0])
        bands.append(band)
    return destination.with_bands(bands)


def _unique_name(name: str, bands: list[Band]) -> str:
    taken = {band.name for band in bands}
    suffix = 1
    while f"{name}_{suffix}" in taken:
        suffix += 1
    return f"{name}_{suffix}"


@algorithm("Image.bandNames")
def band_names(env: Env, image: Any) -> list[str]:
    return as_image(image, "Image.bandNames", "image").band_names


# --- Properties -----------------------------------------------------------------------


def _properties_of(value: Any, algorithm_name: str) -> dict[str, Any]:
    if isinstance(value, (Image, Feature)):
        return value.properties
    if hasattr(value, "properties"):
        return value.properties  # type: ignore[no-any-return]
    raise invalid_argument(
        f"{algorithm_name}: Expected an Element, got {type(value).__name__}."
    )


def _with_properties(value: Any, properties: dict[str, Any]) -> Any:
    if isinstance(value, Image):
        return Image(list(value.bands), properties, value.grid)
    if isinstance(value, Feature):
        return Feature(value.geometry, properties)
    return value


@algorithm("Element.set")
def set_property(env: Env, object: Any, key: Any, value: Any = None) -> Any:
    properties = dict(_properties_of(object, "Element.set"))
    properties[as_string(key, "Element.set", "key")] = value
    return _with_properties(object, properties)


@algorithm("Element.setMulti")
def set_properties(env: Env, object: Any, properties: Any) -> Any:
    merged = dict(_properties_of(object, "Element.setMulti"))
    if not isinstance(properties, dict):
        raise invalid_argument("Element.setMulti: 'properties' must be a Dictionary.")
    merged.update(properties)
    return _with_properties(object, merged)


@algorithm("Element.get")
def get_property(env: Env, object: Any, property: Any) -> Any:
    return _properties_of(object, "Element.get").get(
        as_string(property, "Element.get", "property")
    )


@algorithm("Element.propertyNames")
def property_names(env: Env, element: Any) -> list[str]:
    return sorted(_properties_of(element, "Element.propertyNames"))


def copy_properties(
    env: Env,
    destination: Any = None,
    source: Any = None,
    properties: Any = None,
    exclude: Any = None,
) -> Any:
    name = "Element.copyProperties"
    if destination is None or source is None:
        raise invalid_argument(f"{name}: Both 'destination' and 'source' are required.")
    copied = dict(_properties_of(source, name))
    if properties is not None:
        wanted = as_string_list(properties, name, "properties")
        copied = {key: copied[key] for key in wanted if key in copied}
    else:
        copied = {k: v for k, v in copied.items() if not k.startswith("system:")}
    for key in as_string_list(exclude, name, "exclude") if exclude is not None else []:
        copied.pop(key, None)
    merged = {**_properties_of(destination, name), **copied}
    return _with_properties(destination, merged)


algorithm("Element.copyProperties")(copy_properties)
algorithm("Image.copyProperties")(copy_properties)


@algorithm("Image.date")
def image_date(env: Env, image: Any) -> Date:
    millis = _properties_of(image, "Image.date").get("system:time_start")
    if millis is None:
        raise invalid_argument(
            "Image.date: The image has no 'system:time_start' property."
        )
    return Date(float(millis))
