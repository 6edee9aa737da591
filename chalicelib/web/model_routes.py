"""`GET /finance/models`: which anomaly model each company is scored with (or rules only, and why), for the model
section of the finance page (templates/_anomaly_models.html, static/anomaly_models.js words it)."""

from __future__ import annotations

import functools

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.adapters import model_store
from chalicelib.domain.access import require_dashboard
from chalicelib.services import anomaly_model
from chalicelib.web import http

blueprint = Blueprint(__name__)


@functools.cache
def _store():
    return model_store.from_environment()


@blueprint.route("/finance/models", methods=["GET"])
@http.api
def models_in_use():
    """Finance, auditors and admins: per company, the model in use (trained when, window, ROC AUC) or rules only."""
    require_dashboard(http.principal(blueprint.current_request))
    return http.json_response({"companies": anomaly_model.models_in_use(_store(), bootstrap.container().directory)})
