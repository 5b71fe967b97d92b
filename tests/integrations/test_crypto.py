import base64

import pytest
from django.core.exceptions import ImproperlyConfigured

from integrations.crypto import (
    DecryptionError,
    Keyring,
    decrypt_str,
    encrypt_str,
    generate_key,
    key_id,
    needs_reencryption,
)

OLD = bytes(range(32))
NEW = bytes(range(32, 64))
PURPOSE = "notion.token"


def ring(*keys: bytes) -> Keyring:
    return Keyring(tuple(keys))


def test_round_trip_and_token_shape():
    token = encrypt_str("ntn_secret ✓", PURPOSE, keyring=ring(NEW))
    version, kid, _ = token.split(".")
    assert (version, kid) == ("v1", key_id(NEW))
    assert "ntn_secret" not in token
    assert decrypt_str(token, PURPOSE, keyring=ring(NEW)) == "ntn_secret ✓"


def test_same_plaintext_encrypts_differently():
    keyring = ring(NEW)
    assert keyring.encrypt("x", PURPOSE) != keyring.encrypt("x", PURPOSE)


def test_key_id_is_a_short_fingerprint_not_the_key():
    assert len(key_id(NEW)) == 8
    assert key_id(NEW) != key_id(OLD)
    assert NEW.hex()[:8] != key_id(NEW)


@pytest.mark.parametrize("position", [0, 10, -5])
def test_tampering_is_detected(position):
    keyring = ring(NEW)
    version, kid, body = keyring.encrypt("secret", PURPOSE).split(".")
    blob = bytearray(base64.urlsafe_b64decode(body))
    blob[position] ^= 0x01
    tampered = f"{version}.{kid}.{base64.urlsafe_b64encode(bytes(blob)).decode()}"
    with pytest.raises(DecryptionError):
        keyring.decrypt(tampered, PURPOSE)


def test_token_copied_to_another_purpose_fails():
    keyring = ring(NEW)
    token = keyring.encrypt("secret", "integrations.notionconnection.token")
    with pytest.raises(DecryptionError):
        keyring.decrypt(token, "integrations.providercredential.api_key")


def test_key_id_cannot_be_swapped_in_the_header():
    keyring = ring(NEW, OLD)
    _, _, body = keyring.encrypt("secret", PURPOSE).split(".")
    with pytest.raises(DecryptionError):
        keyring.decrypt(f"v1.{key_id(OLD)}.{body}", PURPOSE)


@pytest.mark.parametrize(
    "token", ["", "plain text", "v2.abcd1234.AAAA", "v1.abcd1234.!!!", "v1.x.AAAA", "v1.a.b.c"]
)
def test_malformed_tokens_are_refused(token):
    with pytest.raises(DecryptionError):
        ring(NEW).decrypt(token, PURPOSE)


def test_unknown_key_id_is_refused():
    token = ring(OLD).encrypt("secret", PURPOSE)
    with pytest.raises(DecryptionError, match="no configured key"):
        ring(NEW).decrypt(token, PURPOSE)


def test_rotation_old_key_decrypts_new_key_encrypts():
    old_token = ring(OLD).encrypt("secret", PURPOSE)
    rotated = ring(NEW, OLD)
    assert rotated.decrypt(old_token, PURPOSE) == "secret"
    assert rotated.needs_reencryption(old_token)
    new_token = rotated.encrypt("secret", PURPOSE)
    assert new_token.split(".")[1] == key_id(NEW)
    assert not rotated.needs_reencryption(new_token)
    assert ring(NEW).decrypt(new_token, PURPOSE) == "secret"


def test_generate_key_is_32_urlsafe_bytes():
    key = generate_key()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert generate_key() != key


@pytest.mark.parametrize("keys", [(), (b"short",), ("a" * 32,)])
def test_bad_keyrings_fail_loudly(keys):
    with pytest.raises(ImproperlyConfigured):
        Keyring(keys)


def test_keyring_repr_hides_keys():
    assert NEW.hex() not in repr(ring(NEW)) and str(NEW) not in repr(ring(NEW))


def test_module_functions_use_settings_keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    token = encrypt_str("secret", PURPOSE)
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert decrypt_str(token, PURPOSE) == "secret"
    assert needs_reencryption(token)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(DecryptionError):
        decrypt_str(token, PURPOSE)


def test_missing_setting_is_a_configuration_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured):
        encrypt_str("secret", PURPOSE)
