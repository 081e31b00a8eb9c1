import pandas as pd

from lead_pipeline.leads.dedup import assign_lead_ids, build_contacts, build_leads, natural_lead_id

COLUMNS = ["landing_id", "message_id", "sender_email", "content_hash", "received_at"]


def _candidates(rows):
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in ["sender_name", "forwarded_by", "company", "company_domain", "phone", "role", "subject",
                "source_alias", "intent", "budget_amount", "budget_currency", "timeline", "team_size"]:
        frame[col] = None
    frame["received_date"] = frame["received_at"].str[:10]
    return frame


def test_copies_of_one_message_and_resends_of_one_text_share_a_lead():
    frame = _candidates([
        ("l1", "<m1>", "p@x.example", "h1", "2026-11-02T10:00:00Z"),
        ("l2", "<m1>", "p@x.example", "h1", "2026-11-02T10:05:00Z"),  # redelivery
        ("l3", "<m2>", "p@x.example", "h1", "2026-11-03T09:00:00Z"),  # same text sent again
        ("l4", "<m3>", "p@x.example", "h2", "2026-11-03T09:00:00Z"),  # a new inquiry
        ("l5", "<m3>", "q@y.example", "h2", "2026-11-03T09:00:00Z"),  # same text, other person
    ])
    ids = assign_lead_ids(frame, pd.DataFrame(columns=["message_id", "sender_email", "lead_id"]))
    assert ids["l1" == frame["landing_id"]].tolist() == [natural_lead_id("p@x.example", "h1")]
    assert ids[0] == ids[1] == ids[2]
    assert len({ids[0], ids[3], ids[4]}) == 3


def test_ids_do_not_depend_on_row_order():
    frame = _candidates([
        ("l1", "<m1>", "p@x.example", "h1", "2026-11-02T10:00:00Z"),
        ("l2", "<m1>", "p@x.example", "h9", "2026-11-02T10:05:00Z"),  # re-cleaned differently
    ])
    empty = pd.DataFrame(columns=["message_id", "sender_email", "lead_id"])
    forward = assign_lead_ids(frame, empty).tolist()
    backward = assign_lead_ids(frame.iloc[::-1], empty).iloc[::-1].tolist()
    assert forward == backward
    assert forward[0] == forward[1] == natural_lead_id("p@x.example", "h1")


def test_a_message_keeps_the_lead_the_store_already_gave_it():
    frame = _candidates([("l1", "<m1>", "p@x.example", "changed", "2026-11-02T10:00:00Z")])
    known = pd.DataFrame([{"message_id": "<m1>", "sender_email": "p@x.example", "lead_id": "L-old"}])
    assert assign_lead_ids(frame, known).tolist() == ["L-old"]


def test_build_leads_takes_the_earliest_delivery_and_counts_copies():
    frame = _candidates([
        ("l2", "<m1>", "p@x.example", "h1", "2026-11-02T10:05:00Z"),
        ("l1", "<m1>", "p@x.example", "h1", "2026-11-02T10:00:00Z"),
        ("l3", "<m2>", "q@y.example", "h2", "2026-11-02T11:00:00Z"),
    ])
    frame["lead_id"] = ["A", "A", "B"]
    leads = build_leads(frame).set_index("lead_id")
    assert leads.loc["A", "landing_id"] == "l1"
    assert leads.loc["A", "duplicate_count"] == 1
    assert leads.loc["B", "duplicate_count"] == 0
    assert set(leads["status"]) == {"new"}


def test_a_person_writing_again_is_a_new_touch_on_the_same_contact():
    leads = pd.DataFrame([
        {"lead_id": "A", "sender_email": "p@x.example", "sender_name": "Pat", "company": "X", "company_domain": "x.example",
         "phone": None, "role": None, "received_at": "2026-11-02T10:00:00Z"},
        {"lead_id": "B", "sender_email": "p@x.example", "sender_name": None, "company": "X", "company_domain": "x.example",
         "phone": "+14155550100", "role": "CTO", "received_at": "2026-11-09T10:00:00Z"},
        {"lead_id": "C", "sender_email": "q@y.example", "sender_name": "Quinn", "company": "Y", "company_domain": "y.example",
         "phone": None, "role": None, "received_at": "2026-11-03T10:00:00Z"},
    ])
    contacts = build_contacts(leads).set_index("contact_email")
    assert len(contacts) == 2
    pat = contacts.loc["p@x.example"]
    assert (pat["touches"], pat["latest_lead_id"], pat["first_seen_at"]) == (2, "B", "2026-11-02T10:00:00Z")
    assert (pat["name"], pat["phone"], pat["role"]) == ("Pat", "+14155550100", "CTO")
    assert contacts.loc["q@y.example", "touches"] == 1
