"""Masks: updateMask, mask, unmask, selfMask, remap and blend."""

from __future__ import annotations

from typing import Any

import numpy as np

from standin.algorithms import Env, algorithm, as_image, as_list, as_string
from standin.errors import invalid_argument
from standin.image import (
    Band,
    Image,
    Pixels,
    SampleContext,
    band_for,
    combine_masks,
    select_bands,
)


def mask_values(pixels: Pixels) -> np.ndarray:
    """Turn an image's values into a 0..1 mask; its own masked pixels count as 0."""
    values = np.clip(pixels.values.astype(np.float32), 0.0, 1.0)
    values = np.where(np.isnan(values), 0.0, values).astype(np.float32)
    return values if pixels.mask is None else np.minimum(values, pixels.mask)


def _masked_band(band: Band, mask_band: Band, replace: bool) -> Band:
    def compute(context: SampleContext) -> Pixels:
        pixels = context.sample(band)
        new_mask = mask_values(context.sample(mask_band))
        combined = new_mask if replace else combine_masks(pixels.mask, new_mask)
        return Pixels(pixels.values, combined)

    return Band(
        band.name, band.dtype, band.projection, band.bounds, compute, band.resampler
    )


@algorithm("Image.updateMask")
def update_mask(env: Env, image: Any, mask: Any) -> Image:
    name = "Image.updateMask"
    source = as_image(image, name, "image")
    masks = as_image(mask, name, "mask")
    bands = [
        _masked_band(band, band_for(masks, i, name), replace=False)
        for i, band in enumerate(source.bands)
    ]
    return source.with_bands(bands)


@algorithm("Image.mask")
def mask(env: Env, image: Any, mask: Any = None) -> Image:
    name = "Image.mask"
    source = as_image(image, name, "image")
    if mask is None:
        return source.with_bands([_mask_as_values(band) for band in source.bands])
    masks = as_image(mask, name, "mask")
    bands = [
        _masked_band(band, band_for(masks, i, name), replace=True)
        for i, band in enumerate(source.bands)
    ]
    return source.with_bands(bands)


def _mask_as_values(band: Band) -> Band:
    def compute(context: SampleContext) -> Pixels:
        pixels = context.sample(band)
        if pixels.mask is None:
            return Pixels(np.ones(context.grid.shape, dtype=np.float32))
        return Pixels(pixels.mask)

    return Band(band.name, np.dtype(np.float32), band.projection, band.bounds, compute)


@algorithm("Image.unmask")
def unmask(env: Env, input: Any, value: Any = None, sameFootprint: Any = True) -> Image:
    name = "Image.unmask"
    source = as_image(input, name, "input")
    fill = as_image(0 if value is None else value, name, "value")
    bands = []
    for index, band in enumerate(source.bands):
        bands.append(_unmasked_band(band, band_for(fill, index, name)))
    return source.with_bands(bands)


def _unmasked_band(band: Band, fill: Band) -> Band:
    dtype = np.dtype(np.result_type(band.dtype, fill.dtype))

    def compute(context: SampleContext) -> Pixels:
        pixels = context.sample(band)
        if pixels.mask is None:
            return pixels
        replacement = context.sample(fill)
        values = np.where(pixels.mask > 0, pixels.values, replacement.values).astype(
            dtype
        )
        # Where the fill value is itself masked, the pixel stays masked.
        result_mask = None
        if replacement.mask is not None:
            result_mask = np.where(pixels.mask > 0, pixels.mask, replacement.mask)
        return Pixels(values, result_mask)

    return Band(band.name, dtype, band.projection, band.bounds, compute)


@algorithm("Image.selfMask")
def self_mask(env: Env, image: Any) -> Image:
    source = as_image(image, "Image.selfMask", "image")
    return source.with_bands(
        [_masked_band(band, band, replace=False) for band in source.bands]
    )


@algorithm("Image.remap", renamed={"from": "from_"})
def remap(
    env: Env,
    image: Any,
    from_: Any,
    to: Any,
    defaultValue: Any = None,
    bandName: Any = None,
) -> Image:
    name = "Image.remap"
    source = as_image(image, name, "image")
    sources = np.asarray(as_list(from_, name, "from"), dtype=np.float64)
    targets = np.asarray(as_list(to, name, "to"), dtype=np.float64)
    if sources.shape != targets.shape:
        raise invalid_argument(f"{name}: 'from' and 'to' must have the same length.")
    if bandName is not None:
        band = select_bands(source, [as_string(bandName, name, "bandName")], name)[0]
    else:
        band = source.bands[0]
    all_integer = bool(np.all(targets == np.round(targets))) and (
        defaultValue is None or float(defaultValue).is_integer()
    )
    dtype = np.dtype(np.int32 if all_integer else np.float64)

    def compute(context: SampleContext) -> Pixels:
        pixels = context.sample(band)
        order = np.argsort(sources)
        keys, values = sources[order], targets[order]
        position = np.clip(np.searchsorted(keys, pixels.values), 0, len(keys) - 1)
        found = keys[position] == pixels.values
        fill = 0 if defaultValue is None else defaultValue
        result = np.where(found, values[position], fill).astype(dtype)
        remap_mask = None if defaultValue is not None else found.astype(np.float32)
        return Pixels(result, combine_masks(pixels.mask, remap_mask))

    remapped = Band("remapped", dtype, band.projection, band.bounds, compute)
    return source.with_bands([remapped])


@algorithm("Image.blend")
def blend(env: Env, bottom: Any, top: Any) -> Image:
    lower = as_image(bottom, "Image.blend", "bottom")
    upper = as_image(top, "Image.blend", "top")
    bands = []
    for index, band in enumerate(lower.bands):
        bands.append(_blended_band(band, band_for(upper, index, "Image.blend")))
    return lower.with_bands(bands)


def _blended_band(bottom: Band, top: Band) -> Band:
    dtype = np.dtype(np.result_type(bottom.dtype, top.dtype))

    def compute(context: SampleContext) -> Pixels:
        under, over = context.sample(bottom), context.sample(top)
        alpha = (
            over.mask
            if over.mask is not None
            else np.ones(context.grid.shape, np.float32)
        )
        values = over.values * alpha + under.values * (1 - alpha)
        under_mask = under.mask if under.mask is not None else 1.0
        mask = np.maximum(alpha, under_mask)
        return Pixels(values.astype(dtype), None if np.all(mask >= 1) else mask)

    return Band(bottom.name, dtype, bottom.projection, bottom.bounds, compute)
