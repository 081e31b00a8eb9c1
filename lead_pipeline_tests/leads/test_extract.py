import json

import pytest

from lead_pipeline.leads.extract import _read_record


@pytest.mark.parametrize("record", [
    json.dumps({"subject": "Pricing", "attachments": [{"size": 2048}], "score": 0.1}, ensure_ascii=False),
    json.dumps({"subject": "lone \ud800 surrogate"}, ensure_ascii=False),
    json.dumps({"subject": "escaped lone surrogate \ud800"}),
    json.dumps({"ratio": float("nan")}),
])
def test_a_record_reads_as_json_reads_it(record):
    read, expected = _read_record(record), json.loads(record)
    assert repr(read) == repr(expected)
    assert [type(value) for value in read.values()] == [type(value) for value in expected.values()]
