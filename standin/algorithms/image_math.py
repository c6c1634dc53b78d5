"""Per-pixel arithmetic, comparison, logic, unary maths and type casts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from standin.algorithms import Env, algorithm, as_image, as_number, as_string_list
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

BinaryFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]
UnaryFunction = Callable[[np.ndarray], np.ndarray]

BYTE = np.dtype(np.uint8)
DOUBLE = np.dtype(np.float64)


def pair_bands(first: Image, second: Image, name: str) -> list[tuple[Band, Band, str]]:
    """Match bands the way EE binary operators do.

    A one-band image is used against every band of the other; otherwise bands pair
    up in order. Output names come from the image with more bands, or `first`.
    """
    a, b = first.bands, second.bands
    if len(a) == 1 and len(b) > 1:
        return [(a[0], band, band.name) for band in b]
    if len(b) == 1:
        return [(band, b[0], band.name) for band in a]
    if len(a) != len(b):
        raise invalid_argument(
            f"{name}: Images must contain the same number of bands or only 1 band. "
            f"Got {len(a)} and {len(b)}."
        )
    return [(x, y, x.name) for x, y in zip(a, b, strict=True)]


def _footprint_of(a: Band, b: Band) -> Band:
    """Return the operand whose projection and footprint the result keeps."""
    return a if a.bounds is not None or b.bounds is None else b


def binary_band(
    a: Band, b: Band, name: str, dtype: np.dtype[Any], function: BinaryFunction
) -> Band:
    def compute(context: SampleContext) -> Pixels:
        left, right = context.sample(a), context.sample(b)
        with np.errstate(all="ignore"):
            values = function(left.values, right.values)
        return Pixels(_cast(values, dtype), combine_masks(left.mask, right.mask))

    keep = _footprint_of(a, b)
    return Band(name, dtype, keep.projection, keep.bounds, compute)


def unary_band(band: Band, dtype: np.dtype[Any], function: UnaryFunction) -> Band:
    def compute(context: SampleContext) -> Pixels:
        pixels = context.sample(band)
        with np.errstate(all="ignore"):
            values = function(pixels.values)
        return Pixels(_cast(values, dtype), pixels.mask)

    return Band(band.name, dtype, band.projection, band.bounds, compute)


def _cast(values: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """Cast, saturating at the integer range and turning NaN into 0."""
    if values.dtype == dtype:
        return values
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        if np.issubdtype(values.dtype, np.floating):
            values = np.nan_to_num(values, nan=0.0, posinf=info.max, neginf=info.min)
        return np.asarray(np.clip(values, info.min, info.max)).astype(dtype)
    return values.astype(dtype)


def union_dtype(a: np.dtype[Any], b: np.dtype[Any]) -> np.dtype[Any]:
    return np.dtype(np.result_type(a, b))


def widened_dtype(a: np.dtype[Any], b: np.dtype[Any]) -> np.dtype[Any]:
    """Return the type of a sum or product, wide enough for 8- and 16-bit input."""
    union = union_dtype(a, b)
    if np.issubdtype(union, np.integer) and union.itemsize < 4:
        return np.dtype(np.int32)
    return union


def _as_wide(values: np.ndarray) -> np.ndarray:
    return (
        values.astype(np.int64) if np.issubdtype(values.dtype, np.integer) else values
    )


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Divide, returning 0 where the divisor is 0; integers divide toward zero."""
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        safe = np.where(b == 0, 1, b)
        quotient = np.trunc(a / safe)
        return np.where(b == 0, 0, quotient)
    result = np.true_divide(a, b)
    return np.where(b == 0, 0, result)


def _on_integers(function: BinaryFunction) -> BinaryFunction:
    """Apply a bitwise function to both operands as 64-bit integers."""
    return lambda a, b: function(a.astype(np.int64), b.astype(np.int64))


def _mod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    safe = np.where(b == 0, 1, b)
    return np.where(b == 0, 0, np.fmod(a, safe))


ARITHMETIC: dict[str, tuple[Callable[..., np.dtype[Any]], BinaryFunction]] = {
    "Image.add": (widened_dtype, lambda a, b: _as_wide(a) + b),
    "Image.subtract": (widened_dtype, lambda a, b: _as_wide(a) - b),
    "Image.multiply": (widened_dtype, lambda a, b: _as_wide(a) * b),
    "Image.divide": (union_dtype, _divide),
    "Image.mod": (union_dtype, _mod),
    "Image.max": (union_dtype, np.maximum),
    "Image.min": (union_dtype, np.minimum),
    "Image.pow": (lambda a, b: DOUBLE, lambda a, b: np.power(a.astype(np.float64), b)),
    "Image.atan2": (lambda a, b: DOUBLE, np.arctan2),
    "Image.hypot": (lambda a, b: DOUBLE, np.hypot),
    "Image.first": (union_dtype, lambda a, b: a),
    "Image.bitwiseAnd": (union_dtype, _on_integers(np.bitwise_and)),
    "Image.bitwiseOr": (union_dtype, _on_integers(np.bitwise_or)),
    "Image.bitwiseXor": (union_dtype, _on_integers(np.bitwise_xor)),
    "Image.leftShift": (union_dtype, _on_integers(np.left_shift)),
    "Image.rightShift": (union_dtype, _on_integers(np.right_shift)),
}

COMPARISONS: dict[str, BinaryFunction] = {
    "Image.gt": np.greater,
    "Image.gte": np.greater_equal,
    "Image.lt": np.less,
    "Image.lte": np.less_equal,
    "Image.eq": np.equal,
    "Image.neq": np.not_equal,
    "Image.and": lambda a, b: (a != 0) & (b != 0),
    "Image.or": lambda a, b: (a != 0) | (b != 0),
}


def binary_image(
    name: str,
    first: Image,
    second: Image,
    dtype_rule: Callable[..., np.dtype[Any]],
    function: BinaryFunction,
) -> Image:
    bands = [
        binary_band(a, b, out, dtype_rule(a.dtype, b.dtype), function)
        for a, b, out in pair_bands(first, second, name)
    ]
    return first.with_bands(bands) if first.bands else second.with_bands(bands)


def _register_binary(
    name: str, dtype_rule: Callable[..., np.dtype[Any]], fn: BinaryFunction
) -> None:
    def run(env: Env, image1: Any, image2: Any) -> Image:
        first = as_image(image1, name, "image1")
        second = as_image(image2, name, "image2")
        return binary_image(name, first, second, dtype_rule, fn)

    algorithm(name)(run)


for _name, (_rule, _function) in ARITHMETIC.items():
    _register_binary(_name, _rule, _function)
for _name, _function in COMPARISONS.items():
    _register_binary(_name, lambda a, b: BYTE, _function)


# --- Unary ----------------------------------------------------------------------------


def _same(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return dtype


UNARY: dict[str, tuple[Callable[[np.dtype[Any]], np.dtype[Any]], UnaryFunction]] = {
    "Image.abs": (_same, np.abs),
    "Image.not": (lambda d: BYTE, lambda v: v == 0),
    "Image.sqrt": (lambda d: DOUBLE, np.sqrt),
    "Image.log": (lambda d: DOUBLE, np.log),
    "Image.log10": (lambda d: DOUBLE, np.log10),
    "Image.exp": (lambda d: DOUBLE, np.exp),
    "Image.sin": (lambda d: DOUBLE, np.sin),
    "Image.cos": (lambda d: DOUBLE, np.cos),
    "Image.tan": (lambda d: DOUBLE, np.tan),
    "Image.asin": (lambda d: DOUBLE, np.arcsin),
    "Image.acos": (lambda d: DOUBLE, np.arccos),
    "Image.atan": (lambda d: DOUBLE, np.arctan),
    "Image.sinh": (lambda d: DOUBLE, np.sinh),
    "Image.cosh": (lambda d: DOUBLE, np.cosh),
    "Image.tanh": (lambda d: DOUBLE, np.tanh),
    "Image.round": (lambda d: DOUBLE, np.round),
    "Image.floor": (lambda d: DOUBLE, np.floor),
    "Image.ceil": (lambda d: DOUBLE, np.ceil),
    "Image.signum": (lambda d: DOUBLE, np.sign),
    "Image.bitwiseNot": (_same, lambda v: np.invert(v.astype(np.int64))),
}

CASTS: dict[str, type] = {
    "Image.byte": np.uint8,
    "Image.toByte": np.uint8,
    "Image.uint8": np.uint8,
    "Image.toUint8": np.uint8,
    "Image.int8": np.int8,
    "Image.toInt8": np.int8,
    "Image.short": np.int16,
    "Image.toShort": np.int16,
    "Image.int16": np.int16,
    "Image.toInt16": np.int16,
    "Image.uint16": np.uint16,
    "Image.toUint16": np.uint16,
    "Image.int": np.int32,
    "Image.toInt": np.int32,
    "Image.int32": np.int32,
    "Image.toInt32": np.int32,
    "Image.uint32": np.uint32,
    "Image.toUint32": np.uint32,
    "Image.long": np.int64,
    "Image.toLong": np.int64,
    "Image.int64": np.int64,
    "Image.toInt64": np.int64,
    "Image.float": np.float32,
    "Image.toFloat": np.float32,
    "Image.double": np.float64,
    "Image.toDouble": np.float64,
}


def unary_image(
    image: Image, dtype_rule: Callable[..., np.dtype[Any]], fn: UnaryFunction
) -> Image:
    return image.with_bands(
        [unary_band(b, dtype_rule(b.dtype), fn) for b in image.bands]
    )


def _register_unary(
    name: str, dtype_rule: Callable[..., np.dtype[Any]], fn: UnaryFunction
) -> None:
    def run(env: Env, value: Any) -> Image:
        return unary_image(as_image(value, name, "value"), dtype_rule, fn)

    algorithm(name)(run)


for _name, (_rule, _unary_function) in UNARY.items():
    _register_unary(_name, _rule, _unary_function)
for _name, _type in CASTS.items():
    _register_unary(_name, lambda d, t=_type: np.dtype(t), lambda v: v)


# --- Composite operations -------------------------------------------------------------


@algorithm("Image.normalizedDifference")
def normalized_difference(env: Env, input: Any, bandNames: Any = None) -> Image:
    name = "Image.normalizedDifference"
    image = as_image(input, name, "input")
    if bandNames is None:
        bands = image.bands[:2]
    else:
        bands = select_bands(image, as_string_list(bandNames, name, "bandNames"), name)
    if len(bands) != 2:
        raise invalid_argument(f"{name}: Need exactly two bands; got {len(bands)}.")
    first, second = bands

    def compute(context: SampleContext) -> Pixels:
        a, b = context.sample(first), context.sample(second)
        x, y = a.values.astype(np.float32), b.values.astype(np.float32)
        total = x + y
        with np.errstate(all="ignore"):
            values = np.where(total == 0, 0.0, (x - y) / total).astype(np.float32)
        # Negative input pixels are masked, as the service documents.
        non_negative = ((x >= 0) & (y >= 0)).astype(np.float32)
        return Pixels(values, combine_masks(a.mask, b.mask, non_negative))

    band = Band("nd", np.dtype(np.float32), first.projection, first.bounds, compute)
    return Image([band], {}, image.grid)


@algorithm("Image.where")
def where(env: Env, input: Any, test: Any, value: Any) -> Image:
    name = "Image.where"
    image = as_image(input, name, "input")
    tests = as_image(test, name, "test")
    values = as_image(value, name, "value")
    bands = []
    for index, band in enumerate(image.bands):
        test_band = band_for(tests, index, name)
        value_band = band_for(values, index, name)
        bands.append(_where_band(band, test_band, value_band))
    return image.with_bands(bands)


def _where_band(band: Band, test: Band, value: Band) -> Band:
    dtype = union_dtype(band.dtype, value.dtype)

    def compute(context: SampleContext) -> Pixels:
        base, condition, replacement = (context.sample(b) for b in (band, test, value))
        use = condition.values != 0
        # Masked test or value pixels keep the input value.
        for mask in (condition.mask, replacement.mask):
            if mask is not None:
                use &= mask > 0
        values = np.where(use, replacement.values, base.values)
        return Pixels(_cast(values, dtype), base.mask)

    return Band(band.name, dtype, band.projection, band.bounds, compute)


@algorithm("Image.clamp")
def clamp(env: Env, input: Any, low: Any, high: Any) -> Image:
    lo = as_number(low, "Image.clamp", "low")
    hi = as_number(high, "Image.clamp", "high")
    image = as_image(input, "Image.clamp", "input")
    return unary_image(image, _same, lambda v: np.clip(v, lo, hi))


@algorithm("Image.unitScale")
def unit_scale(env: Env, input: Any, low: Any, high: Any) -> Image:
    lo = as_number(low, "Image.unitScale", "low")
    hi = as_number(high, "Image.unitScale", "high")
    image = as_image(input, "Image.unitScale", "input")
    span = hi - lo if hi != lo else 1.0
    return unary_image(image, lambda d: np.dtype(np.float32), lambda v: (v - lo) / span)
