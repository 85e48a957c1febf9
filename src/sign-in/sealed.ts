// Owns the encryption of what the gateway keeps of its sign-in in Redis (the
// refresh token and the access token): AES-256-GCM with TOKEN_ENCRYPTION_KEY,
// a random nonce per write, and the Redis key as associated data, so a value
// copied under another key, or altered, never decrypts.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';

export interface Sealer {
  seal(plain: string, key: string): string;
  /** The plain text, or undefined when the value was altered, sealed under another key or with another secret. */
  open(sealed: string, key: string): string | undefined;
}

export function createSealer(secret: Buffer): Sealer {
  if (secret.length !== 32) throw new Error(`TOKEN_ENCRYPTION_KEY must be 32 bytes, got ${secret.length}`);
  return {
    seal(plain, key) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', secret, nonce);
      cipher.setAAD(Buffer.from(key, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [
        VERSION,
        nonce.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
        body.toString('base64url'),
      ].join('.');
    },
    open(sealed, key) {
      const [version, nonce, tag, body] = sealed.split('.');
      if (version !== VERSION || !nonce || !tag || body === undefined) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', secret, Buffer.from(nonce, 'base64url'));
        decipher.setAAD(Buffer.from(key, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}
