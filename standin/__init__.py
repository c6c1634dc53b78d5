"""Local stand-in for the Earth Engine REST API, for tests and local runs only.

`python -m standin` serves the discovery document, algorithm signatures,
thumbnails, computePixels and value:compute on loopback, so that the official
Python client and the product's functions can run with no access to Google.
"""
