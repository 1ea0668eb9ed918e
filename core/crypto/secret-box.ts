import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Encrypts secrets stored in the database (integration tokens, API keys) with AES-256-GCM under a
 * key derived from ENCRYPTION_KEY. The output names its format version, so the key or algorithm
 * can change later without guessing. `context` (e.g. "org:<id>:kommo") is authenticated but not
 * stored: a ciphertext copied to another row or organisation fails to decrypt.
 */

const VERSION = "v1";
const IV_BYTES = 12;
/** GCM's full tag. Node accepts shorter tags unless told the length, and a 4-byte tag is forgeable. */
const TAG_BYTES = 16;

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretBoxError";
  }
}

export class SecretBox {
  readonly #key: Buffer;

  constructor(encryptionKey: string) {
    if (encryptionKey.length < 32) throw new SecretBoxError("ENCRYPTION_KEY must be at least 32 characters");
    this.#key = Buffer.from(hkdfSync("sha256", encryptionKey, "gpt-platform", "secret-box:v1", 32));
  }

  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, iv.toString("base64url"), body.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(".");
  }

  decrypt(sealed: string, context: string): string {
    const [version, iv, body, tag] = sealed.split(".");
    if (version !== VERSION || !iv || body === undefined || !tag) {
      throw new SecretBoxError(`not a sealed secret of format ${VERSION}`);
    }
    const tagBytes = Buffer.from(tag, "base64url");
    if (tagBytes.length !== TAG_BYTES) throw new SecretBoxError("secret could not be decrypted: its authentication tag is not 16 bytes");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, Buffer.from(iv, "base64url"), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(tagBytes);
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
    } catch {
      // Same message for a wrong key, a wrong context and tampering: none of them should tell an attacker more.
      throw new SecretBoxError("secret could not be decrypted: wrong ENCRYPTION_KEY, wrong context, or the value was altered");
    }
  }
}
