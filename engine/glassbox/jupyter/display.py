"""Rich displays for notebook cells: HTML tables, error boxes, exit statuses.

Each class here is a small value with ``_repr_html_`` (what JupyterLab shows)
and a plain-text ``__repr__`` (what a terminal IPython or a log shows), so the
same object reads well everywhere. Nothing here talks to the engine.
"""

from __future__ import annotations

import html
import json

_CSS_TABLE = ("border-collapse:collapse;font-family:var(--jp-code-font-family,monospace);"
              "font-size:12px")
_CSS_CELL = "padding:2px 10px;text-align:left;border-bottom:1px solid #ddd"

STATE_COLORS = {"running": "#2e7d32", "paused": "#f9a825", "exited": "#757575",
                "created": "#1565c0", "removed": "#b71c1c", "dead": "#b71c1c"}


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def badge(text: str, color: str | None = None) -> str:
    """A small coloured pill (``running`` green, ``exited`` grey, ...)."""
    color = color or STATE_COLORS.get(str(text).split()[0].lower() if text else "", "#555")
    return (f'<span style="background:{color};color:white;border-radius:8px;'
            f'padding:1px 8px;font-size:11px">{esc(text)}</span>')


def html_table(headers: list[str], rows: list[list], *, title: str = "",
               raw_columns: tuple[int, ...] = ()) -> str:
    """An HTML table; cells are escaped unless their column is in ``raw_columns``."""
    head = "".join(f'<th style="{_CSS_CELL}">{esc(h)}</th>' for h in headers)
    body = []
    for row in rows:
        cells = "".join(f'<td style="{_CSS_CELL}">{cell if i in raw_columns else esc(cell)}</td>'
                        for i, cell in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    caption = f"<caption style='text-align:left;font-weight:bold'>{esc(title)}</caption>" \
        if title else ""
    return (f'<table style="{_CSS_TABLE}">{caption}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


class Table:
    """Rows shown as an HTML table in a notebook and as Docker's text table elsewhere.

    ``rows`` keeps the full dicts (``ps_rows``/``image_rows`` shape) so code can
    use them: ``[r["Names"] for r in %container ps -a]``.
    """

    def __init__(self, headers: list[str], keys: list[str], rows: list[dict], title: str = "",
                 badge_key: str | None = None):
        self.headers, self.keys, self.rows, self.title = headers, keys, rows, title
        self.badge_key = badge_key

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    def cells(self) -> list[list[str]]:
        return [[str(r.get(k, "")) for k in self.keys] for r in self.rows]

    def _repr_html_(self) -> str:
        cells = self.cells()
        raw = ()
        if self.badge_key in self.keys:
            col = self.keys.index(self.badge_key)
            for row, r in zip(cells, self.rows):
                row[col] = badge(row[col], STATE_COLORS.get(r.get("State", ""), None))
            raw = (col,)
        if not cells:
            from .messages import t
            return f"<div><b>{esc(self.title)}</b> <i>({esc(t('table.empty'))})</i></div>"
        return html_table(self.headers, cells, title=self.title, raw_columns=raw)

    def __repr__(self) -> str:
        from ..present import table
        return table([h.upper() for h in self.headers], self.cells())


def ps_table(rows: list[dict]) -> Table:
    """``%container ps``: the rows of :func:`glassbox.present.ps_rows`."""
    from .messages import t
    return Table(t("ps.headers").split("|"),
                 ["ID", "Image", "_cmd", "RunningFor", "Status", "Names"], rows,
                 title=t("ps.title"), badge_key="Status")


def images_table(rows: list[dict]) -> Table:
    """``%container images``: the rows of :func:`glassbox.present.image_rows`."""
    from .messages import t
    return Table(t("images.headers").split("|"),
                 ["Repository", "Tag", "ID", "CreatedSince", "Size"], rows, title=t("images.title"))


class ErrorMessage:
    """A user mistake or engine refusal, shown as a short red box (no traceback)."""

    def __init__(self, message: str, detail: str = ""):
        self.message, self.detail = message, detail

    def _repr_html_(self) -> str:
        from .messages import t
        detail = f"<pre style='margin:4px 0 0 0;color:#555'>{esc(self.detail)}</pre>" \
            if self.detail else ""
        return ('<div style="border-left:4px solid #c62828;background:#ffebee;color:#b71c1c;'
                'padding:6px 10px;font-family:var(--jp-code-font-family,monospace);'
                f'white-space:pre-wrap"><b>{esc(t("error.label"))}</b> {esc(self.message)}{detail}</div>')

    def __repr__(self) -> str:
        from .messages import t
        return f"{t('error.label')} {self.message}" + (f"\n{self.detail}" if self.detail else "")


class ExitStatus:
    """How an attached command ended: ``exit_code`` (and ``oom_killed``, output for ``run``)."""

    def __init__(self, exit_code: int | None, *, id: str = "", oom_killed: bool = False,
                 stdout: bytes = b"", stderr: bytes = b""):
        self.exit_code, self.id, self.oom_killed = exit_code, id, oom_killed
        self.stdout_bytes, self.stderr_bytes = stdout, stderr

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_bytes.decode(errors="replace")

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def __bool__(self):
        return True

    def _text(self) -> str:
        from .messages import t
        text = t("exit.code", code=self.exit_code)
        if self.oom_killed:
            text += t("exit.oom")
        return text

    def _repr_html_(self) -> str:
        color = "#2e7d32" if self.ok else "#c62828"
        return f"<span style='color:{color};font-size:11px'>{esc(self._text())}</span>"

    def __repr__(self) -> str:
        return self._text()


class TextOutput(str):
    """A command's text output: a real ``str``, displayed as plain text (not a quoted repr)."""

    def _repr_pretty_(self, p, cycle):
        p.text(self.rstrip("\n"))


class JSONDoc(dict):
    """``%container inspect`` of one object: a real dict, shown as collapsible JSON."""

    def _repr_json_(self):
        return dict(self), {"expanded": False, "root": self.get("Name") or self.get("Id", "")}

    def _repr_pretty_(self, p, cycle):
        p.text(json.dumps(self, indent=2, default=str))


class JSONList(list):
    """``%container inspect a b``: a list of documents, shown as JSON."""

    def _repr_json_(self):
        return list(self), {"expanded": False}

    def _repr_pretty_(self, p, cycle):
        p.text(json.dumps(self, indent=2, default=str))


def short(digest: str, n: int = 12) -> str:
    """``sha256:abcdef...`` -> ``abcdef123456``."""
    return digest.split(":", 1)[-1][:n]
