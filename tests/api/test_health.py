from tests.support import Api


def test_health_readiness_and_metrics(tenant: Api) -> None:
    assert tenant.get("/healthz").json() == {"status": "ok"}
    ready = tenant.get("/readyz").json()
    assert ready["status"] == "ready"
    assert set(ready["checks"]) >= {"catalog", "index", "embedder", "queue"}
    doc = tenant.upload_text("metrics are counted", title="m")
    tenant.wait_done([doc["id"]])
    tenant.search("metrics")
    text = tenant.get("/metrics").text
    assert (
        'enclave_http_request_duration_seconds_count{method="POST",route="/v1/search",status="200"}' in text
    )
    assert 'enclave_documents{status="ready"} 1.0' in text
    assert 'enclave_ingest_stage_duration_seconds_count{stage="embed"}' in text
    assert "enclave_ingest_queue_depth" in text


def test_readiness_reports_a_broken_dependency(tenant: Api) -> None:
    rt = tenant.http.app.state.runtime
    rt.catalog.engine.dispose()
    original = rt.catalog.ping
    rt.catalog.ping = lambda: (_ for _ in ()).throw(ConnectionError("database is down"))
    try:
        r = tenant.get("/readyz")
        assert r.status_code == 503 and "database is down" in r.json()["checks"]["catalog"]
    finally:
        rt.catalog.ping = original
