"""The charts' bars and numbers agree at every scale (issue 25): a bar's length is worked out from the
figure it shows, in the one unit of its chart, and the table beside it shows the same figures."""

from __future__ import annotations

import re

import pytest

from api.routes.charts import bars, scale_for
from api.templating import build_environment
from countersign.domain.policy import load_policy

HBARS = build_environment(load_policy()).get_template("partials/chart_bars.html").module.hbars
MINUTE, HOUR = 1 / 1440, 1 / 24


@pytest.mark.parametrize("medians, unit, texts", [
    ({"sony": 12 * MINUTE, "warner": 0.04 * MINUTE, "merlin": None}, "minutes",
     ["12.0 minutes", "0.0 minutes", "no decisions"]),
    ({"sony": 5 * HOUR, "warner": 50 * MINUTE, "merlin": 4.96 * HOUR}, "hours",
     ["5.0 hours", "0.8 hours", "5.0 hours"]),
    ({"sony": 3.52, "warner": 7 * HOUR, "merlin": 0.04 * MINUTE}, "working days",
     ["3.5 working days", "0.3 working days", "0.0 working days"]),
])
def test_bars_and_numbers_agree_at_every_scale(medians, unit, texts):
    scale = scale_for(max(m for m in medians.values() if m is not None))
    assert scale.unit == unit
    drawn = bars(medians, {label: "some decisions" for label in medians}, scale)
    assert [bar.text for bar in drawn] == texts  # one unit for the whole chart
    shown = {bar.label: float(bar.text.split()[0]) for bar in drawn if bar.text != "no decisions"}
    for bar in drawn:  # the same figure, in the same unit, gives the same length
        assert bar.width == (shown[bar.label] / max(shown.values()) * 100 if bar.label in shown else 0)
    page = str(HBARS("speed", "Time to decision", drawn, f"in {unit}"))
    lengths = [float(w) for w in re.findall(r'class="chart-bar[^"]*" x="110" y="\d+" width="([\d.]+)"', page)]
    assert lengths == [round(bar.width * 4, 1) for bar in drawn]
    assert re.findall(r"<td>([^<]*)</td><td>some decisions</td>", page) == texts  # the table says the same


def test_shares_are_drawn_as_shown():
    drawn = bars({"sony": 99.6, "warner": 50.2, "merlin": None}, {"sony": "", "warner": "", "merlin": ""})
    assert [(bar.text, bar.width) for bar in drawn] == [("100%", 100), ("50%", 50), ("no decisions", 0)]
