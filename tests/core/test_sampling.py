"""``sampling``: one row per ID, nested seeded samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_segmentation.core import engine
from customer_segmentation.core.sampling import check_one_row_per_id, rows_of_sample


# Four points on a line, two obvious pairs: every criterion can be worked out by hand.
def test_a_repeated_id_is_refused_by_name():
    check_one_row_per_id(pd.DataFrame({"ID": [3, 1, 2]}), "the segments")
    with pytest.raises(ValueError, match=r"the segments: 3 row.s. repeat an ID .e.g. 1, 3 appear"):
        check_one_row_per_id(pd.DataFrame({"ID": [3, 1, 3, 1, 1, 2]}), "the segments")


def test_a_smaller_sample_of_one_seed_is_found_inside_a_larger_one():
    table = engine.lazy(pd.DataFrame({"ID": np.arange(1000) * 7 + 3, "x": np.arange(1000)}))
    larger = engine.sample(table, 300, 5, "ID")
    rows = rows_of_sample(larger, 40, 5)
    inner = engine.to_pandas(engine.sample(table, 40, 5, "ID"))["ID"].to_numpy()
    np.testing.assert_array_equal(engine.to_pandas(larger)["ID"].to_numpy()[rows], inner)
    assert len(set(inner) - set(engine.to_pandas(larger)["ID"])) == 0, "samples are nested"
