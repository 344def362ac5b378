"""Sphinx configuration for the medspec documentation (built with warnings as errors by `make test`)."""

from importlib.metadata import version as _version

project = "medspec"
author = "medspec developers"
copyright = "2026, medspec developers"
release = _version("medspec")
version = ".".join(release.split(".")[:2])

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]  # myst_nb includes MyST
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
nb_execution_mode = "off"  # the notebook is shown with the outputs it is committed with; the tests execute it
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
