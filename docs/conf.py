"""Sphinx configuration for the medspec documentation (built with warnings as errors by `make test`)."""

from importlib.metadata import version as _version

project = "medspec"
author = "medspec developers"
copyright = "2026, medspec developers"
release = _version("medspec")
version = ".".join(release.split(".")[:2])

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
nitpicky = False

html_theme = "alabaster"
html_title = f"medspec {release}"
language = "en"
