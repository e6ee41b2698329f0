"""Griffe extension for the API reference: Sphinx roles in docstrings shown as code.

The package's docstrings name other functions the Sphinx way (``:func:`check_rows```,
``:class:`ModelVersion```, ``:data:`SHOWN```); the Google-style Markdown renderer would print
the role. This extension rewrites each role to inline code before the docstrings are parsed,
leaving the source as it is (``mkdocs.yml``: the python handler's ``extensions``).
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|data|attr|exc|obj|const):`~?([^`]+)`")


def without_roles(text: str) -> str:
    """``text`` with every Sphinx role replaced by its target as inline code."""
    return ROLE.sub(r"`\1`", text)


class SphinxRolesAsCode(Extension):
    """Rewrites the Sphinx roles of every docstring once the object tree is loaded."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = without_roles(obj.docstring.value)
