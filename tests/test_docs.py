"""The docs site (``tutorials/conf.py``) builds offline, documents every public name, and
its formulas are typeset in a real browser.

The site is built once, as the README says (``python -m sphinx -W -b html tutorials
OUT``: warnings are errors), into a temporary folder; no notebook or tutorial is executed,
so the build costs about a minute of one core. The tests skip where the ``docs`` extra is not installed, and
the browser test where Chromium is not.

- Every public function and class of refsnn (each public module's ``__all__``, or the
  public names it defines when it has none) has an entry in the site's inventory
  (``objects.inv``), under the module that defines it.
- No page loads a script or a style sheet from another site: MathJax is served from the
  site's own ``_static/``.
- Chromium, headless and with background networking off, opens a page with formulas
  from a local ``http.server`` and dumps its DOM after MathJax has run: the formulas are
  ``mjx-container`` elements and no ``$`` or ``\\(`` delimiter is left in the prose (a
  formula MathJax cannot parse, such as ``\\frac{N``, stays as its raw ``\\(...\\)``).
"""

import functools
import html
import http.server
import importlib
import importlib.util
import pkgutil
import re
import shutil
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["sphinx", "myst_parser", "sphinx_codeautolink", "sphinx-mathjax-offline"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: The page the browser opens: the notation page is hand-written and full of formulas.
FORMULA_PAGE = "00_notation.html"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built site's folder (the build must pass with warnings as errors)."""
    missing = [name for name in DOCS if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f'the docs extra is not installed (pip install ".[docs]"): {", ".join(missing)}')
    out = tmp_path_factory.mktemp("docs") / "html"
    build = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", "tutorials", str(out)],
                           cwd=ROOT, capture_output=True, text=True)
    assert build.returncode == 0, f"the docs build failed:\n{build.stderr[-4000:]}"
    return out


def inventory(site):
    """The site's objects.inv as a set of (role, name), e.g. ("py:function", "refsnn....qcfs")."""
    raw = (site / "objects.inv").read_bytes()
    body = zlib.decompress(raw.split(b"\n", 4)[4]).decode("utf-8")
    return {(line.split()[1], line.split()[0]) for line in body.splitlines() if line.strip()}


def public_objects():
    """{full name where defined: role} for every public class and function of refsnn."""
    import refsnn

    modules = ["refsnn"] + [m.name for m in pkgutil.walk_packages(refsnn.__path__, "refsnn.")
                            if not any(part.startswith("_") for part in m.name.split("."))]
    objects = {}
    for name in modules:
        module = importlib.import_module(name)
        names = getattr(module, "__all__", None) or [
            n for n, v in vars(module).items() if not n.startswith("_") and getattr(v, "__module__", None) == name]
        for attribute in names:
            value = getattr(module, attribute)
            if isinstance(value, type):
                role = "py:exception" if issubclass(value, BaseException) else "py:class"
            elif callable(value) and hasattr(value, "__qualname__"):
                role = "py:function"
            else:
                continue
            objects[f"{value.__module__}.{value.__qualname__}"] = role
    return objects


def test_every_public_function_and_class_has_an_api_entry(site):
    entries = inventory(site)
    objects = public_objects()
    assert len(objects) > 100  # the walk found the packages
    missing = sorted(f"{role} {name}" for name, role in objects.items() if (role, name) not in entries)
    assert not missing, "public names without an API entry:\n" + "\n".join(missing)


def test_each_object_has_one_page_and_a_source_link(site):
    api = site / "_autosummary"
    page = api / "refsnn.neurons.parallel.parallel_neuron.html"
    assert page.is_file()
    assert "_modules/refsnn/neurons/parallel.html" in page.read_text(encoding="utf-8")
    assert not (api / "refsnn.parallel_neuron.html").exists()  # re-exports link to the home page


def test_tutorial_code_and_prose_link_to_the_api(site):
    """Names in code cells link to their API pages (sphinx-codeautolink), and so do
    inline-code names in the prose (conf.py's CodeLinks), but not parameter names."""
    api = "_autosummary/refsnn.neurons.parallel.parallel_neuron.html"
    tutorial = (site / "03_theorem_4_1.html").read_text(encoding="utf-8")
    assert re.search(rf'<a class="sphinx-codeautolink-a" href="{re.escape(api)}', tutorial)
    notation = (site / "00_notation.html").read_text(encoding="utf-8")
    prose = re.compile(r'<a class="reference internal" href="_autosummary/[^"]*"[^>]*><code[^>]*><span class="pre">([^<]*)<')
    linked = set(prose.findall(notation))
    assert {"first_spike_step(currents,", "record_thresholds", "refsnn.networks.conversion"} <= linked, linked
    assert "theta" not in linked and "psi_da" not in linked


def test_no_page_loads_a_script_or_style_from_another_site(site):
    remote = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//", re.I)
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 100
    offenders = [str(p.relative_to(site)) for p in pages if remote.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"pages loading remote scripts or styles: {offenders[:10]}"
    notation = (site / FORMULA_PAGE).read_text(encoding="utf-8")
    assert re.search(r"<script[^>]*src=\"_static/mathjax/tex-chtml\.js", notation)
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()


def prose(dom):
    """The text of a page outside code, scripts and styles."""
    dom = re.sub(r"<(script|style|pre|code|textarea)\b.*?</\1>", "", dom, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", dom))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the built site without logging every request."""

    def log_message(self, *args):
        pass


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_formulas_are_typeset_in_a_headless_browser(site, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{FORMULA_PAGE}"
        browser = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
             "--virtual-time-budget=20000", "--dump-dom", url],
            capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    dom = browser.stdout
    assert "</html>" in dom, f"Chromium printed no page:\n{browser.stderr[-2000:]}"
    typeset = dom.count("<mjx-container")
    source = (site / FORMULA_PAGE).read_text(encoding="utf-8").count('class="math')
    assert source > 20 and typeset >= source, f"{typeset} typeset formulas of {source}"
    text = prose(dom)
    assert "$" not in text, "raw $ delimiters: " + repr(text[max(text.index("$") - 80, 0):text.index("$") + 80])
    assert "\\(" not in text and "\\[" not in text
