import t from "tap";
import { SecretBox, SecretBoxError } from "../../core/crypto/secret-box.ts";

const box = new SecretBox("k".repeat(40));

t.test("round trip, fresh nonce each time", async (t) => {
  const a = box.encrypt("kommo-refresh-token-123", "org:1:kommo");
  const b = box.encrypt("kommo-refresh-token-123", "org:1:kommo");
  t.not(a, b, "same plaintext encrypts differently");
  t.notMatch(a, /kommo-refresh-token/, "plaintext does not appear in the ciphertext");
  t.match(a, /^v1\./, "the format names its version");
  t.equal(box.decrypt(a, "org:1:kommo"), "kommo-refresh-token-123");
});

t.test("wrong context, wrong key or tampering all fail the same way", async (t) => {
  const sealed = box.encrypt("secret", "org:1:kommo");
  t.throws(() => box.decrypt(sealed, "org:2:kommo"), SecretBoxError, "another organisation's context");
  t.throws(() => new SecretBox("z".repeat(40)).decrypt(sealed, "org:1:kommo"), SecretBoxError, "another key");
  const parts = sealed.split(".");
  const body = Buffer.from(parts[2]!, "base64url");
  body[0] = body[0]! ^ 1;
  parts[2] = body.toString("base64url");
  t.throws(() => box.decrypt(parts.join("."), "org:1:kommo"), { message: /could not be decrypted/ }, "one flipped bit");
  t.throws(() => box.decrypt("plain text", "org:1:kommo"), { message: /not a sealed secret/ });
  const [version, iv, sealedBody, tag] = box.encrypt("secret", "org:1:kommo").split(".");
  const shortTag = Buffer.from(tag!, "base64url").subarray(0, 4).toString("base64url");
  t.throws(
    () => box.decrypt([version, iv, sealedBody, shortTag].join("."), "org:1:kommo"),
    { message: /tag is not 16 bytes/ },
    "a tag cut to 4 bytes",
  );
  t.throws(() => new SecretBox("short"), SecretBoxError);
});
