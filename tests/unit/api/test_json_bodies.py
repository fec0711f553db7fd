"""Large JSON bodies encoded by orjson, answered as ``jsonify`` answers them."""

from __future__ import annotations

import json

from flask import Flask, jsonify

from tricircle.api.json_bodies import json_response

BODY = {"servers": [{"id": "s1", "name": "caf\u00e9", "progress": 0, "links": [], "fault": None}]}


def test_the_same_document_type_and_newline_as_jsonify():
    app = Flask(__name__)
    with app.app_context():
        fast, usual = json_response(BODY), jsonify(BODY)
    assert fast.mimetype == usual.mimetype == "application/json"
    assert fast.status_code == usual.status_code == 200
    assert json.loads(fast.get_data()) == json.loads(usual.get_data()) == BODY
    assert fast.get_data().endswith(b"\n")


def test_what_orjson_refuses_goes_through_jsonify():
    app = Flask(__name__)
    app.json.sort_keys = False  # as the gateways have it
    with app.app_context():
        response = json_response({"big": 2**70, 1: "non-string key"})
    assert json.loads(response.get_data()) == {"big": 2**70, "1": "non-string key"}


def test_the_status_is_set_on_either_path():
    app = Flask(__name__)
    with app.app_context():
        assert json_response(BODY, 202).status_code == 202
        assert json_response({"big": 2**70}, 207).status_code == 207
