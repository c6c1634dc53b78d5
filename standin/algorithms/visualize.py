"""`Image.visualize`: the display rendering that thumbnails of data bands use."""

from __future__ import annotations

from typing import Any

from standin.algorithms import Env, algorithm, as_image
from standin.image import Image
from standin.visualize import NAME, split_values, visualize


@algorithm("Image.visualize")
def visualize_image(
    env: Env,
    image: Any,
    bands: Any = None,
    gain: Any = None,
    bias: Any = None,
    min: Any = None,
    max: Any = None,
    gamma: Any = None,
    opacity: Any = None,
    palette: Any = None,
    forceRgbOutput: Any = False,
) -> Image:
    source = as_image(image, NAME, "image")
    names = split_values(bands, "bands")
    options = {
        "gain": gain,
        "bias": bias,
        "min": min,
        "max": max,
        "gamma": gamma,
        "opacity": opacity,
        "palette": palette,
        "forceRgbOutput": forceRgbOutput,
    }
    return visualize(source, names, options)
