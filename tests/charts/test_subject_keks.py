"""The key-encryption keys of personal data come from existing Secrets: identity's are required
with its keys Secret, the dossiers' replace the keys it otherwise generates on its data volume;
each is mounted read-only where the service's own configuration parser looks for it."""

from __future__ import annotations

from motcua.dossiers.config import DossiersConfig
from motcua.identity.config import IdentityConfig
from tests.charts.rendering import render, render_error


def _mount_and_volume(rendered, service: str, path: str) -> tuple[dict, dict]:
    pod = rendered.deployment(service)["spec"]["template"]["spec"]
    mount = next(m for m in rendered.container(service)["volumeMounts"] if m["mountPath"] == path)
    return mount, next(v for v in pod["volumes"] if v["name"] == mount["name"])


def test_identitys_keks_come_from_their_secret_mounted_read_only() -> None:
    rendered = render()
    config = IdentityConfig.from_env(rendered.environment("identity"))
    mount, volume = _mount_and_volume(rendered, "identity", str(config.subject_keks_dir))
    assert mount["readOnly"] is True
    assert volume["secret"] == {"secretName": "identity-subject-keks", "defaultMode": 0o440}


def test_identity_with_its_keys_secret_and_no_kek_secret_is_refused_naming_the_value() -> None:
    error = render_error({"identity": {"subjectKeksSecret": ""}})
    assert "identity.subjectKeksSecret: not set" in error


def test_the_dossiers_keys_come_from_secrets_when_named_else_from_the_data_volume() -> None:
    generated = DossiersConfig.from_env(render().environment("dossiers"))
    assert str(generated.subject_keks_dir) == "/var/lib/motcua/dossiers/secrets/subject-keks"
    assert str(generated.personal_key_file) == "/var/lib/motcua/dossiers/secrets/personal-data.key"

    rendered = render({"dossiers": {"subjectKeksSecret": "dossiers-keks", "personalKeySecret": "dossiers-personal"}})
    env = rendered.container("dossiers")["env"]
    config = DossiersConfig.from_env({e["name"]: e.get("value", "") for e in env})
    mount, volume = _mount_and_volume(rendered, "dossiers", str(config.subject_keks_dir))
    assert mount["readOnly"] is True and volume["secret"]["secretName"] == "dossiers-keks"
    personal = next(e for e in env if e["name"] == "MOTCUA_DOSSIERS_PERSONAL_KEY")
    assert personal["valueFrom"]["secretKeyRef"] == {"name": "dossiers-personal", "key": "personal-data.key"}
    assert not any(e["name"] == "MOTCUA_DOSSIERS_PERSONAL_KEY_FILE" for e in env)


def test_the_notifications_keks_come_from_their_secret_or_for_a_demo_from_an_empty_dir() -> None:
    rendered = render()
    env = rendered.environment("notifications")
    mount, volume = _mount_and_volume(rendered, "notifications", env["MOTCUA_NOTIFICATIONS_SUBJECT_KEKS_DIR"])
    assert env["MOTCUA_NOTIFICATIONS_DEV_KEYS"] == "false" and mount["readOnly"] is True
    assert volume["secret"] == {"secretName": "notifications-subject-keks", "defaultMode": 0o440}

    demo = render({"notifications": {"subjectKeksSecret": "", "devKeys": True}})
    env = demo.environment("notifications")
    _, volume = _mount_and_volume(demo, "notifications", env["MOTCUA_NOTIFICATIONS_SUBJECT_KEKS_DIR"])
    assert env["MOTCUA_NOTIFICATIONS_DEV_KEYS"] == "true" and volume["emptyDir"] == {}

    error = render_error({"notifications": {"subjectKeksSecret": ""}})
    assert "notifications.subjectKeksSecret: not set" in error
