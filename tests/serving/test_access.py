"""Who may use the service and how much: API keys, rate limits and throttling per key or address, CORS,
the stream's origins and slots per key."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_client import upload, wait_for_job
from starlette.websockets import WebSocketDisconnect

from signscribe.errors import InputFileError
from signscribe.serving import ServerSettings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_api_keys(make_client, clip_bytes: bytes, tmp_path: Path) -> None:
    client = make_client(api_keys=frozenset({"s3cret"}))
    assert client.get("/healthz").status_code == 200  # probes stay open
    missing = client.get("/v1/models")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
    assert client.get("/v1/models", headers={"X-API-Key": "nope"}).json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/models", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.get("/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert upload(client, clip_bytes).status_code == 401
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
    assert closed.value.code == 4401
    with client.websocket_connect("/v1/stream?api_key=s3cret") as ws:
        assert ws.receive_json()["type"] == "ready"
    assert client.get("/v1/bank", headers={"X-API-Key": "s3cret"}).json()["shared"] is False  # the key's own bank
    assert make_client(data_dir=tmp_path / "open").get("/v1/bank").json()["shared"] is True  # one bank for everyone


def test_api_keys_from_environment(monkeypatch, tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# team keys\nalpha\n\nbeta\n")
    monkeypatch.setenv("SIGNSCRIBE_API_KEYS", "gamma, delta")
    monkeypatch.setenv("SIGNSCRIBE_API_KEYS_FILE", str(keys))
    monkeypatch.setenv("SIGNSCRIBE_MAX_UPLOAD_MB", "2")
    monkeypatch.setenv("SIGNSCRIBE_CORS_ORIGINS", "https://a.example, https://b.example")
    settings = ServerSettings.from_env(data_dir=tmp_path)
    assert settings.api_keys == {"alpha", "beta", "gamma", "delta"}
    assert settings.max_upload_bytes == 2 * 1024 * 1024 and settings.cors_origins == (
        "https://a.example",
        "https://b.example",
    )


def test_rate_limit_per_key(make_client) -> None:
    client = make_client(rate_limit_per_minute=2, api_keys=frozenset({"k1", "k2"}))
    statuses = [client.get("/v1/models", headers={"X-API-Key": "k1"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = client.get("/v1/models", headers={"X-API-Key": "k1"})
    assert limited.json()["error"]["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    assert client.get("/v1/models", headers={"X-API-Key": "k2"}).status_code == 200


def test_cors_is_configurable(make_client) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    allowed = make_client(cors_origins=("https://app.example",)).options("/v1/recognize", headers=preflight)
    assert allowed.headers.get("access-control-allow-origin") == "https://app.example"
    closed = make_client().options("/v1/recognize", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers


def test_rate_limiter_window_and_idle_clients(monkeypatch) -> None:
    from signscribe.serving import security
    from signscribe.serving.security import ApiError, RateLimiter

    clock = [1000.0]
    monkeypatch.setattr(security.time, "monotonic", lambda: clock[0])
    limiter = RateLimiter(2)
    limiter.check("a")
    limiter.check("b")
    limiter.check("a")
    with pytest.raises(ApiError, match="more than 2 requests a minute"):
        limiter.check("a")
    clock[0] += 61  # a minute later the window is free again and idle clients are forgotten
    limiter.check("c")
    assert set(limiter._seen) == {"c"}
    limiter.check("c")


def test_jobs_belong_to_the_key_that_made_them(make_client, clip_bytes: bytes) -> None:
    client = make_client(api_keys=frozenset({"alice", "bob"}))
    created = upload(client, clip_bytes, "/v1/jobs", **{"X-API-Key": "alice"}).json()
    job = wait_for_job(client, created["id"], **{"X-API-Key": "alice"})
    assert job["status"] == "done" and "owner" not in job
    for method in (client.get, client.delete):
        other = method(f"/v1/jobs/{job['id']}", headers={"X-API-Key": "bob"})
        assert other.status_code == 404 and other.json()["error"]["code"] == "job_not_found"
    assert client.get(f"/v1/jobs/{job['id']}", headers={"X-API-Key": "alice"}).json()["status"] == "done"
    assert client.delete(f"/v1/jobs/{job['id']}", headers={"X-API-Key": "alice"}).status_code == 200


def test_failed_authentication_is_throttled_per_address(make_client) -> None:
    client = make_client(api_keys=frozenset({"right"}), auth_failures_per_minute=3)
    statuses = [client.get("/v1/models", headers={"X-API-Key": f"guess{i}"}).status_code for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    throttled = client.get("/v1/models", headers={"X-API-Key": "right"})  # the address is locked out for now
    assert throttled.status_code == 429 and "failed authentications" in throttled.json()["error"]["message"]
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream?api_key=right") as ws:
        ws.receive_json()
    assert closed.value.code == 4429


def test_the_stream_counts_against_the_rate_limit(make_client) -> None:
    client = make_client(api_keys=frozenset({"k"}), rate_limit_per_minute=2)
    assert [client.get("/v1/models", headers={"X-API-Key": "k"}).status_code for _ in range(2)] == [200, 200]
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/v1/stream?api_key=k") as ws:
        ws.receive_json()
    assert closed.value.code == 4429


def test_without_keys_the_limit_is_per_address_whatever_the_headers(make_client) -> None:
    client = make_client(rate_limit_per_minute=3)
    statuses = [client.get("/v1/models", headers={"X-API-Key": f"random{i}"}).status_code for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_an_empty_or_unreadable_key_file_stops_the_start(tmp_path: Path, monkeypatch) -> None:
    empty = tmp_path / "keys.txt"
    empty.write_text("# no keys yet\n\n")
    monkeypatch.setenv("SIGNSCRIBE_API_KEYS_FILE", str(empty))
    with pytest.raises(InputFileError, match="holds no key"):
        ServerSettings.from_env(data_dir=tmp_path)
    binary = tmp_path / "keys.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    monkeypatch.setenv("SIGNSCRIBE_API_KEYS_FILE", str(binary))
    with pytest.raises(InputFileError, match="unreadable"):
        ServerSettings.from_env(data_dir=tmp_path)


def test_bad_settings_in_the_environment_are_one_line(monkeypatch, tmp_path: Path) -> None:
    from signscribe.serving.settings import SettingsError

    for name, value in [("SIGNSCRIBE_MAX_UPLOAD_MB", "lots"), ("SIGNSCRIBE_RATE_LIMIT", "-1")]:
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError, match=name):
            ServerSettings.from_env(data_dir=tmp_path)
        monkeypatch.delenv(name)


def test_one_key_cannot_take_every_stream_slot(make_client) -> None:
    client = make_client(api_keys=frozenset({"a", "b"}), stream_max_connections=3, stream_max_per_caller=2)
    with client.websocket_connect("/v1/stream?api_key=a") as first, client.websocket_connect("/v1/stream?api_key=a"):
        first.receive_json()
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/v1/stream?api_key=a") as ws:
            ws.receive_json()
        assert refused.value.code == 1013 and "for one caller" in refused.value.reason
        with client.websocket_connect("/v1/stream?api_key=b") as other:
            assert other.receive_json()["type"] == "ready"


def test_streams_are_refused_to_pages_of_other_origins(make_client) -> None:
    client = make_client()
    evil = {"Origin": "https://evil.example"}
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/v1/stream", headers=evil) as ws:
        ws.receive_json()
    assert refused.value.code == 4403
    for headers in ({}, {"Origin": "http://testserver"}):  # no browser, or the server's own page
        with client.websocket_connect("/v1/stream", headers=headers) as ws:
            assert ws.receive_json()["type"] == "ready"
    allowed = make_client(stream_origins=("https://app.example",), data_dir=client.app.state.settings.data_dir / "b")
    with allowed.websocket_connect("/v1/stream", headers={"Origin": "https://app.example"}) as ws:
        assert ws.receive_json()["type"] == "ready"
