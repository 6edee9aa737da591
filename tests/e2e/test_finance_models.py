"""The finance page's model section on the local stack: after the daily retrain, finance sees for each company the
model in use (trained when, window, ROC AUC) or "rules only" with its claim count, in 繁中 and English, no ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from chalicelib import bootstrap
from chalicelib.adapters import model_store
from chalicelib.domain.directory import Department
from chalicelib.services import anomaly_model
from chalicelib.web import i18n
from tests.unit.services.test_anomaly_model import company_rows

NOW = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)


def test_finance_sees_each_companys_model_or_rules_only_and_why(driver, api):
    c = bootstrap.container()
    c.directory.put_department(Department(department_id="KL-OPS", name="Ops", office_id="HK", head_id="E200",
                                          cost_centre="CC-KL", finance_controller_id="E300", company="kowloon"))
    store = model_store.from_environment()
    trained = anomaly_model.retrain(store, "default", company_rows(), NOW)  # the sample company: enough history
    store.put_run("kowloon", {"company": "kowloon", "ran_at": NOW.isoformat(), "rows": 24, "claims": 6,
                              "version": None, "promoted": False, "rules_only": True,
                              "reason": "too little history (24 expense rows, 200 needed): rules only"})

    status, body = driver.call("GET", "/finance/models", None, driver.auth("E300"))  # finance
    assert status == 200, body
    by_company = {e["company"]: e for e in body["companies"]}
    assert set(by_company) == {"default", "kowloon"}
    default = by_company["default"]
    assert default["model"] and default["trained_at"] == NOW.isoformat()
    assert default["auc"] == trained.metadata["metrics"]["validation_auc"] >= anomaly_model.VALIDATION_FLOOR
    assert (default["window_from"], default["window_to"]) == (trained.metadata["window"]["from"],
                                                              trained.metadata["window"]["to"])
    kowloon = by_company["kowloon"]
    assert not kowloon["model"] and kowloon["why"] == "too_little_history" and kowloon["claims"] == 6
    assert driver.call("GET", "/finance/models", None, driver.auth("E201"))[0] == 403  # an employee


def test_the_model_section_is_on_the_finance_page_in_both_languages_and_the_queue_stays():
    for locale, heading in (("en", "Anomaly models"), ("zh-Hant", "異常偵測模型")):
        from chalicelib.web.pages import _render

        html = _render("finance.html", locale, root="", title_key="finance.title", statuses=[], categories=[])
        assert f'<h2 id="fin-models-title">{heading}</h2>' in html
        assert 'id="anomaly-models"' in html and "static/anomaly_models.js" in html
        assert 'id="queue-anomalies"' in html  # the anomaly queue is still there
    catalogue = i18n.catalogue()
    script = (i18n.MESSAGES_DIR.parent / "static" / "anomaly_models.js").read_text(encoding="utf-8")
    used = set(re.findall(r'"(models\.[a-z_.]+)"', script))
    assert used and all(set(catalogue[k]) >= {"en", "zh-Hant"} for k in used | {"models.title", "models.intro"})
    for key in used:  # the placeholders the script fills are the ones each language's sentence has
        names = {frozenset(re.findall(r"\{(\w+)\}", text)) for text in catalogue[key].values()}
        assert len(names) == 1, key
