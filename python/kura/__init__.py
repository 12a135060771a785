"""kura: write a table and its table spec together, inside a kura workspace.

    import kura
    kura.table(rows=["prefecture"], cols=["sex"], statistic="count",
               schema="claims", table="claims", out="/outputs/t1.csv")

computes the table from the schema's own CSV (the csv module; pandas is not needed) and
writes /outputs/t1.csv in long form (the dimensions, then `value`, one line per cell) and
/outputs/t1.spec.json, the spec kura-sdc recomputes it from (docs/table-spec.md). Request both
with `kura export request /outputs/t1.csv --spec /outputs/t1.spec.json ...`.

Standard library only. `kura.crosstab` and `kura.pivot` are shorthands; `kura.spec` writes a
spec alone for a table made some other way (pandas, R).
"""

import csv
import json
import math
import os
import statistics as _statistics
import warnings

__all__ = ["table", "crosstab", "pivot", "spec", "to_frame", "STATISTICS", "KuraWarning"]

STATISTICS = ("count", "sum", "mean", "median", "min", "max", "std", "mode")
MISSING = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"}
DATA_ROOT = os.environ.get("KURA_DATA_ROOT", "/data")


class KuraWarning(UserWarning):
    """A cell that the disclosure checker will likely fail (fewer units than min_count)."""


def _is_missing(text):
    return text is None or text.strip() in MISSING


def _number(text):
    """The number `text` reads as, or None (missing, not a number, inf, nan)."""
    if _is_missing(text):
        return None
    try:
        v = float(text.strip())
    except ValueError:
        return None
    if math.isnan(v) or math.isinf(v):
        return None
    return v


def _format(v):
    """Integers without a decimal point; other numbers with full precision."""
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _schema_dir(schema, data):
    if data and os.path.isdir(data):
        return data
    if data:
        return os.path.dirname(os.path.abspath(data))
    return os.path.join(DATA_ROOT, schema)


def _load_manifest(schema, data):
    path = os.path.join(_schema_dir(schema, data), "schema.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _table_entry(manifest, table):
    if not manifest:
        return None
    for t in manifest.get("tables", []):
        if t.get("name") == table:
            return t
    return None


def _filter_ok(row, f):
    column, op, want = f["column"], f["op"], f["value"]
    field = row.get(column)
    if field is None:
        raise KeyError("filter column %r is not in the data" % column)
    if op == "in":
        return any(_filter_ok(row, {"column": column, "op": "=", "value": w}) for w in want)
    a, b = _number(field), _number(str(want))
    if a is not None and b is not None:
        left, right = a, b
    else:
        left, right = field.encode("utf-8"), str(want).encode("utf-8")
    if op in ("=", "=="):
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    raise ValueError("unknown filter op %r" % op)


def _statistic(name, values):
    if name == "sum":
        return math.fsum(values)
    if name == "mean":
        return math.fsum(values) / len(values)
    if name == "median":
        return _statistics.median(values)
    if name == "min":
        return min(values)
    if name == "max":
        return max(values)
    if name == "std":
        return _statistics.stdev(values) if len(values) > 1 else None
    if name == "mode":
        counts = {}
        for v in values:
            counts[v] = counts.get(v, 0) + 1
        best = max(counts.values())
        return min(v for v, c in counts.items() if c == best)
    raise ValueError("unknown statistic %r" % name)


def _spec_path(out):
    base, _ = os.path.splitext(out)
    return base + ".spec.json"


def spec(schema, table, out, rows=(), cols=(), statistic="count", value=None, filter=None,
         structural_zeros=None, tolerance=None, description=None, spec_out=None):
    """Writes the table spec of `out` (to `spec_out`, default OUT minus extension + .spec.json)
    and returns it as a dict."""
    if statistic not in STATISTICS:
        raise ValueError("statistic must be one of %s" % ", ".join(STATISTICS))
    if statistic != "count" and not value:
        raise ValueError("statistic %r needs value=COLUMN" % statistic)
    d = {"schema": schema, "table": table, "output": os.path.basename(out),
         "rows": list(rows), "cols": list(cols), "statistic": statistic}
    if statistic != "count":
        d["value"] = value
    if filter:
        d["filter"] = [dict(f) for f in filter]
    if structural_zeros:
        d["structural_zeros"] = [dict(z) for z in structural_zeros]
    if tolerance is not None:
        d["tolerance"] = tolerance
    if description:
        d["description"] = description
    path = spec_out or _spec_path(out)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(d, f, indent=1)
        f.write("\n")
    return d


def table(rows=(), cols=(), statistic="count", value=None, data=None, schema=None, table=None,
          out=None, filter=None, unit=None, min_count=10, suppress=False,
          structural_zeros=None, tolerance=None, description=None, spec_out=None,
          _stacklevel=2):
    """Computes a table from the schema's data and writes it (long form) with its spec.

    rows, cols   grouping columns (rows then cols is a cell's key)
    statistic    count (distinct units), sum, mean, median, min, max, std or mode
    value        the column the statistic is of (all but count)
    data         the table's CSV (default: /data/SCHEMA/<the table's file in schema.json>)
    schema       the schema as mounted (/data/SCHEMA); the spec names schema.json's `name`
    table        the schema's table
    out          the output file, e.g. /outputs/t1.csv; the spec goes to /outputs/t1.spec.json
    filter       [{"column": C, "op": "=", "value": V}, ...] as in the table spec
    unit         the unit column (default: the unit_id column of schema.json)
    min_count    warn (KuraWarning) for cells with fewer distinct units; None: no warning
    suppress     write `*` (suppressed: compared with nothing, discloses nothing) instead of
                 the value of every cell with 0 < distinct units < min_count. Primary
                 suppression only: margins or totals elsewhere may still reveal such a cell

    Returns a list of (key tuple, value) in the order written (value "*" when suppressed).
    """
    if not schema or not table or not out:
        raise ValueError("schema, table and out are required")
    rows, cols = list(rows), list(cols)
    dims = rows + cols
    manifest = _load_manifest(schema, data)
    entry = _table_entry(manifest, table)
    if data is None or os.path.isdir(data):
        if entry is None:
            raise ValueError("table %r not found in %s/schema.json; give data=CSV"
                             % (table, _schema_dir(schema, data)))
        data = os.path.join(_schema_dir(schema, data), entry["file"])
    if unit is None and entry is not None:
        for c in entry.get("columns", []):
            if c.get("role") == "unit_id":
                unit = c["name"]
    if unit is None:
        raise ValueError("no unit_id column known for table %r; give unit=COLUMN" % table)
    spec_schema = manifest.get("name", schema) if manifest else schema
    d = spec(spec_schema, table, out, rows, cols, statistic, value, filter, structural_zeros,
             tolerance, description, spec_out)

    cells = {}  # key -> [set of units, list of values]
    observed = [dict() for _ in dims]  # each dimension's values, in order of first sight
    with open(data, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        for c in dims + [unit] + ([value] if value else []):
            if c not in header:
                raise KeyError("column %r is not in %s" % (c, data))
        for row in reader:
            if filter and not all(_filter_ok(row, flt) for flt in filter):
                continue
            key = tuple(row[c] for c in dims)
            for i, k in enumerate(key):
                observed[i].setdefault(k, True)
            if _is_missing(row[unit]):
                continue
            if statistic == "count":
                v = None
            else:
                v = _number(row[value])
                if v is None:
                    if not _is_missing(row[value]):
                        raise ValueError("%s: %r is not a number in column %r"
                                         % (data, row[value], value))
                    continue
            cell = cells.setdefault(key, [set(), []])
            cell[0].add(row[unit])
            if v is not None:
                cell[1].append(v)

    if statistic == "count":
        # Every combination of the observed values, zeros included, as the checker recomputes.
        keys = [()]
        for values in observed:
            keys = [k + (v,) for k in keys for v in sorted(values)]
    else:
        keys = sorted(cells)
    result = []
    small = []
    for key in keys:
        units, values = cells.get(key, (set(), []))
        if statistic == "count":
            v = len(units)
        else:
            v = _statistic(statistic, values)
        if min_count is not None and 0 < len(units) < min_count:
            if suppress:
                v = "*"
            else:
                small.append((key, len(units)))
        result.append((key, v))

    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(dims + ["value"])
        for key, v in result:
            w.writerow(list(key) + ["NA" if v is None else _format(v)])
    if small:
        shown = ", ".join("%s: %d" % ("/".join(k) or "(all)", n) for k, n in small[:10])
        warnings.warn("%s: %d cell(s) with fewer than %d distinct units (%s%s); the disclosure "
                      "checker will likely fail them: group more coarsely, or suppress them"
                      % (os.path.basename(out), len(small), min_count, shown,
                         ", ..." if len(small) > 10 else ""), KuraWarning, stacklevel=_stacklevel)
    return result


def crosstab(rows, cols, **kwargs):
    """Distinct units per cell of rows x cols (statistic count); see table()."""
    kwargs.setdefault("statistic", "count")
    return table(rows=rows, cols=cols, _stacklevel=3, **kwargs)


def pivot(rows, cols, value, statistic="mean", **kwargs):
    """A magnitude table: `statistic` of `value` per cell of rows x cols; see table()."""
    return table(rows=rows, cols=cols, value=value, statistic=statistic, _stacklevel=3,
                 **kwargs)


def to_frame(result, rows=(), cols=()):
    """The table returned by table() as a pandas DataFrame (long form); needs pandas."""
    import pandas  # only here: the module itself needs nothing beyond the standard library
    dims = list(rows) + list(cols)
    return pandas.DataFrame([list(k) + [v] for k, v in result], columns=dims + ["value"])
