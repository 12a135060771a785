"""Unit test of the workspace's kura Python module (python/kura): the table it writes from a
small CSV and the spec beside it. With KURA_SDC set (ctest sets it), kura-sdc recomputes the
table from the same data under that spec and must find every cell equal."""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
sys.dont_write_bytecode = True
import kura  # noqa: E402

CSV = """patient_id,hospital_id,prefecture,sex,year,cost
p1,h1,13,F,2023,100
p1,h1,13,F,2023,50
p2,h2,13,F,2023,30
p3,h1,13,M,2023,10
p4,h2,27,M,2022,NA
p5,h1,27,M,2023,7.5
"""

SCHEMA = {"name": "demo", "data_class": "anonymized",
          "tables": [{"name": "claims", "file": "claims.csv",
                      "columns": [{"name": "patient_id", "role": "unit_id"},
                                  {"name": "hospital_id", "role": "holding_id"},
                                  {"name": "cost", "role": "measure"}]}]}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class KuraTableTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.schema = os.path.join(self.tmp.name, "claims")
        os.mkdir(self.schema)
        with open(os.path.join(self.schema, "claims.csv"), "w") as f:
            f.write(CSV)
        with open(os.path.join(self.schema, "schema.json"), "w") as f:
            json.dump(SCHEMA, f)
        self.out = os.path.join(self.tmp.name, "outputs")
        os.mkdir(self.out)

    def tearDown(self):
        self.tmp.cleanup()

    def test_count_is_distinct_units_with_zero_cells_and_spec(self):
        out = os.path.join(self.out, "t1.csv")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kura.table(rows=["prefecture"], cols=["sex"], statistic="count",
                       data=os.path.join(self.schema, "claims.csv"), schema="claims",
                       table="claims", out=out)
        # p1 twice in 13/F is one unit; 27/F has no one and is written as a zero.
        self.assertEqual(read(out), "prefecture,sex,value\n13,F,2\n13,M,1\n27,F,0\n27,M,2\n")
        spec = json.loads(read(os.path.join(self.out, "t1.spec.json")))
        self.assertEqual(spec, {"schema": "demo", "table": "claims", "output": "t1.csv",
                                "rows": ["prefecture"], "cols": ["sex"],
                                "statistic": "count"})
        self.assertTrue(any(issubclass(w.category, kura.KuraWarning) for w in caught))
        self.check_with_sdc(out)

    def test_suppress_writes_a_star_for_small_cells_without_warning(self):
        out = os.path.join(self.out, "s.csv")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kura.crosstab(["prefecture"], ["sex"], schema="claims", data=self.schema,
                          table="claims", out=out, min_count=2, suppress=True)
        self.assertEqual(read(out), "prefecture,sex,value\n13,F,2\n13,M,*\n27,F,0\n27,M,2\n")
        self.assertFalse(any(issubclass(w.category, kura.KuraWarning) for w in caught))
        self.check_with_sdc(out)

    def test_mean_sum_filter_and_missing_values(self):
        out = os.path.join(self.out, "mean.csv")
        result = kura.pivot(rows=["prefecture"], cols=[], value="cost", statistic="mean",
                            schema="claims", data=self.schema, table="claims", out=out,
                            min_count=None)
        self.assertEqual(result, [(("13",), 47.5), (("27",), 7.5)])
        self.assertEqual(read(out), "prefecture,value\n13,47.5\n27,7.5\n")
        out = os.path.join(self.out, "sum.csv")
        kura.table(rows=["sex"], statistic="sum", value="cost", schema="claims",
                   data=self.schema, table="claims", out=out, min_count=None,
                   filter=[{"column": "year", "op": "=", "value": 2023}])
        self.assertEqual(read(out), "sex,value\nF,180\nM,17.5\n")
        spec = json.loads(read(os.path.join(self.out, "sum.spec.json")))
        self.assertEqual(spec["value"], "cost")
        self.assertEqual(spec["filter"], [{"column": "year", "op": "=", "value": 2023}])
        self.check_with_sdc(out)

    def test_other_statistics(self):
        data = os.path.join(self.schema, "claims.csv")
        got = {}
        for stat in ("median", "min", "max", "std", "mode"):
            got[stat] = kura.table(rows=["sex"], statistic=stat, value="cost", data=data,
                                   schema="claims", table="claims",
                                   out=os.path.join(self.out, stat + ".csv"), min_count=None)
        self.assertEqual(got["median"], [(("F",), 50.0), (("M",), 8.75)])
        self.assertEqual(got["min"], [(("F",), 30.0), (("M",), 7.5)])
        self.assertEqual(got["max"], [(("F",), 100.0), (("M",), 10.0)])
        self.assertAlmostEqual(got["std"][0][1], 36.05551275463989, places=9)
        self.assertEqual(got["mode"], [(("F",), 30.0), (("M",), 7.5)])

    def test_refusals(self):
        with self.assertRaises(ValueError):
            kura.table(rows=["sex"], statistic="mean", schema="claims", data=self.schema,
                       table="claims", out=os.path.join(self.out, "x.csv"))
        with self.assertRaises(ValueError):
            kura.table(rows=["sex"], statistic="variance", value="cost", schema="claims",
                       data=self.schema, table="claims", out=os.path.join(self.out, "x.csv"))
        with self.assertRaises(KeyError):
            kura.table(rows=["nosuch"], schema="claims", data=self.schema, table="claims",
                       out=os.path.join(self.out, "x.csv"))

    def check_with_sdc(self, out):
        sdc = os.environ.get("KURA_SDC")
        if not sdc:
            return
        spec = os.path.splitext(out)[0] + ".spec.json"
        run = subprocess.run([sdc, "check", "--schema", self.schema, "--spec", spec,
                              "--format", "json", out], capture_output=True, text=True)
        self.assertTrue(run.stdout, run.stderr)
        text = json.dumps(json.loads(run.stdout))
        self.assertIn('"verified": true', text)
        # The cells may fail the thresholds (the data are tiny) but never differ from the data.
        self.assertNotIn('"rule": "mismatch"', text, text)
