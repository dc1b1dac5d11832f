"""Sphinx configuration of refsnn's docs site, built from this folder.

Build it offline, from the repository root, after ``pip install ".[docs]"``::

    python -m sphinx -W -b html tutorials tutorials/_build/html

The pages are the Markdown files of this folder (MyST): the course map (``README.md``),
the notation page, the glossary, the rendered tutorials and solutions, and the results,
speed, checkpoints and verify-against pages. ``api.md`` generates the API reference from
the numpy-style docstrings (autodoc, autosummary, napoleon), with source links (viewcode).
Maths is ``$...$`` in the Markdown (MyST's dollarmath) and is typeset by a copy of MathJax
shipped in the ``sphinx-mathjax-offline`` package, so no page loads anything from a network.
"""

import re
import sys
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # document this checkout's refsnn, installed or not

project = "refsnn"
author = "refsnn contributors"
copyright = "refsnn contributors, MIT licence"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "sphinx_codeautolink",
]

root_doc = "index"
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}  # autosummary writes .rst
exclude_patterns = ["_build", "output", "**.ipynb_checkpoints"]

# MyST: $...$ and $$...$$ maths, GitHub-style heading anchors (the pages link to
# "page.md#3-theorem-41"), and ``{term}`` links into the glossary.
myst_enable_extensions = ["dollarmath", "amsmath", "deflist"]
myst_heading_anchors = 4
myst_dmath_double_inline = True

# The API reference: one page per public module, listing its ``__all__``.
autosummary_generate = True
autosummary_ignore_module_all = False
autosummary_imported_members = False
templates_path = ["_templates"]
autosummary_context = {"homes": {}}  # filled in by setup(): the re-exported names
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False

# Code cells of the tutorials link each refsnn name to its API entry.
codeautolink_concat_default = True
codeautolink_autodoc_inject = False

# A docstring's ``::`` block that is not Python (the .npz format's JSON) cannot be matched
# by codeautolink; it is then shown without links, which is right.
suppress_warnings = ["codeautolink.match_block"]

html_theme = "alabaster"
html_title = "refsnn"
html_static_path = []


class LocalLinks(SphinxPostTransform):
    """Resolve the two kinds of local link that GitHub follows and Sphinx does not.

    ``[README](../README.md)``, the repository's README, is outside this folder: it is the
    page ``overview`` (which includes it). ``[solutions](solutions/)``, a folder, is its
    ``README`` page. Runs just before MyST resolves links (priority 9).
    """

    default_priority = 8

    def run(self, **kwargs):
        readme = HERE.parent / "README.md"
        for node in self.document.findall(addnodes.pending_xref):
            if node.get("reftype") != "myst":
                continue
            here = Path(self.env.doc2path(node.get("refdoc", self.env.docname))).parent
            path = node["reftarget"].partition("#")[0]
            if node.get("refdomain") == "doc" and Path(path).with_suffix(".md") == readme.with_suffix(".md"):
                node["reftarget"] = "overview"
            elif node.get("refdomain") != "doc" and path and (here / path / "README.md").is_file():
                node["refdomain"] = "doc"
                node["reftarget"] = self.env.path2doc(str(here / path / "README.md"))
                node["reftargetid"] = None


class CodeLinks(SphinxPostTransform):
    """Link each inline-code name of the prose to its API entry: ``first_spike_step``,
    ``refsnn.neurons.theory``, ``SpikingNetwork.predict(X, mode="collapsed")`` (the name
    before the parenthesis). A name links when it is a documented function, class, module
    or method's full name, or the last components of exactly one object; ambiguous names
    (``run``, ``load``) and parameter names (``theta``) stay plain."""

    default_priority = 5  # before MyST (9) and Sphinx (10): explicit links are still pending_xref, skipped

    def run(self, **kwargs):
        objects = self.env.get_domain("py").objects
        suffixes = {}
        for full in objects:
            parts = full.split(".")
            for k in range(1, len(parts)):
                suffixes.setdefault(".".join(parts[k:]), []).append(full)
        for literal in list(self.document.findall(nodes.literal)):
            if any(isinstance(p, (nodes.reference, addnodes.desc, nodes.literal_block, addnodes.pending_xref))
                   for p in _ancestors(literal)):
                continue
            name = literal.astext().split("(", 1)[0].strip()
            if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
                continue
            full = name if name in objects else None
            if full is None and len(suffixes.get(name, [])) == 1:
                full = suffixes[name][0]
            if full is None:
                continue
            entry = objects[full]
            if entry.objtype not in LINKED or (entry.objtype == "method" and "." not in name):
                continue  # a parameter or attribute name such as ``theta`` is not a concept
            uri = self.app.builder.get_relative_uri(self.env.docname, entry.docname) + "#" + entry.node_id
            reference = nodes.reference("", "", internal=True, refuri=uri, reftitle=full)
            literal.replace_self(reference)
            reference.append(literal)


#: The object types an inline-code name links to.
LINKED = {"function", "class", "exception", "module", "method"}


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


def public_modules():
    """refsnn and every module under it whose name has no leading underscore, imported."""
    import importlib
    import pkgutil

    import refsnn

    names = ["refsnn"] + [m.name for m in pkgutil.walk_packages(refsnn.__path__, "refsnn.")
                          if not any(part.startswith("_") for part in m.name.split("."))]
    return [importlib.import_module(name) for name in names]


def public_names(module):
    """A module's public names: its ``__all__``, or the public names it defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__]


def home(module, name):
    """The module that defines ``module.name``: its ``__module__``, or, for data, the one
    module whose source assigns it."""
    value = getattr(module, name)
    defined = getattr(value, "__module__", None)
    if defined is not None and (callable(value) or isinstance(value, type)):
        return defined
    source = Path(module.__file__).read_text(encoding="utf-8")
    if re.search(rf"^{name}\b[^\n=]*=", source, re.M):
        return module.__name__
    for other in public_modules():
        if other is not module and getattr(other, name, None) is value and name in vars(other) \
                and re.search(rf"^{name}\b[^\n=]*=", Path(other.__file__).read_text(encoding="utf-8"), re.M):
            return other.__name__
    return module.__name__


def reexports():
    """{module: {name: full name where it is documented}} for every name a module
    re-exports from another: each object gets one API page, at its defining module."""
    homes = {}
    for module in public_modules():
        for name in public_names(module):
            defined = home(module, name)
            if defined != module.__name__:
                homes.setdefault(module.__name__, {})[name] = f"{defined}.{name}"
    return homes


#: |x| written as an absolute value in a plain-text docstring (it may wrap onto a second line).
ABSOLUTE = re.compile(r"(?<![\w|\\])\|(?=[^\s|])([^|]{0,200}?[^\s|\\])\|(?![\w|])")


def plain_absolute_values(app, what, name, obj, options, lines):
    """Docstrings are plain text, where ``|rate − activation|`` is an absolute value; in
    reStructuredText it would be a substitution. Escape the bars, unless the docstring
    has a table drawn with bars."""
    if any(line.lstrip().startswith(("|", "+-")) for line in lines):
        return
    escaped = ABSOLUTE.sub(r"\\|\1\\|", "\n".join(lines)).split("\n")
    lines[:] = escaped


def setup(app):
    autosummary_context["homes"] = reexports()
    app.connect("autodoc-process-docstring", plain_absolute_values)
    app.add_post_transform(LocalLinks)
    app.add_post_transform(CodeLinks)
