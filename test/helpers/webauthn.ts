// cborg writes canonical CBOR (minimal lengths, sorted map keys, plain byte strings), as WebAuthn decoders expect.
import { encode as encodeCbor } from 'cborg';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

/**
 * A software WebAuthn authenticator for tests: P-256 keys from WebCrypto, CBOR from cborg,
 * "none" attestation. It answers the JSON options of the API with the JSON a browser would send
 * (what @simplewebauthn/browser's startRegistration / startAuthentication return), and lets a
 * test lie about origin, rp id or counter.
 */

const encoder = new TextEncoder();

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

export interface StoredCredential {
  id: string;
  privateKey: CryptoKey;
  rpId: string;
  /** base64url user handle from the creation options. */
  userHandle: string;
  counter: number;
}

export interface CeremonyOverrides {
  origin?: string;
  rpId?: string;
  /** Whether the authenticator reports user verification (the UV flag); true unless said otherwise. */
  userVerified?: boolean;
  /** The AAGUID a registration reports (a UUID); all zeros unless said otherwise. */
  aaguid?: string;
}

const flagsOf = (overrides: CeremonyOverrides, flags: number): Uint8Array =>
  new Uint8Array([flags | (overrides.userVerified === false ? 0 : FLAG_UV)]);

export function base64url(bytes: Uint8Array | ArrayBuffer): string {
  return Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('base64url');
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

const sha256 = async (data: Uint8Array): Promise<Uint8Array> =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', data as BufferSource));

const uint32 = (n: number): Uint8Array => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
};

/** WebCrypto signs ECDSA as raw r‖s; WebAuthn wants an ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }`. */
export function rawEcdsaToDer(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array): Uint8Array => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let value = bytes.subarray(start);
    if (value[0]! & 0x80) value = concat(new Uint8Array([0]), value);
    return concat(new Uint8Array([0x02, value.length]), value);
  };
  const half = raw.length / 2;
  const body = concat(integer(raw.subarray(0, half)), integer(raw.subarray(half)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

export class SoftAuthenticator {
  readonly credentials: StoredCredential[] = [];

  /** `origin` is what the "browser" puts in clientDataJSON unless a ceremony overrides it. */
  constructor(private readonly origin: string) {}

  /** navigator.credentials.create(): a new discoverable ES256 credential with "none" attestation. */
  async register(options: PublicKeyCredentialCreationOptionsJSON, overrides: CeremonyOverrides = {}): Promise<RegistrationResponseJSON> {
    const rpId = overrides.rpId ?? options.rp.id!;
    const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey));
    // COSE_Key: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
    const coseKey = encodeCbor(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, raw.slice(1, 33)],
        [-3, raw.slice(33, 65)],
      ]),
    );
    const credentialId = crypto.getRandomValues(new Uint8Array(16));
    const credentialIdLength = new Uint8Array([credentialId.length >> 8, credentialId.length & 0xff]);
    const authData = concat(
      await sha256(encoder.encode(rpId)),
      flagsOf(overrides, FLAG_UP | FLAG_BE | FLAG_BS | FLAG_AT),
      uint32(0),
      // AAGUID: all zeros, as "none" attestation allows, unless the test names a provider's.
      overrides.aaguid ? Uint8Array.from(Buffer.from(overrides.aaguid.replace(/-/g, ''), 'hex')) : new Uint8Array(16),
      credentialIdLength,
      credentialId,
      coseKey,
    );
    const attestationObject = encodeCbor({ fmt: 'none', attStmt: {}, authData });
    const clientDataJSON = encoder.encode(
      JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin: overrides.origin ?? this.origin, crossOrigin: false }),
    );

    const id = base64url(credentialId);
    this.credentials.push({ id, privateKey: keys.privateKey, rpId, userHandle: options.user.id, counter: 0 });
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: base64url(clientDataJSON),
        attestationObject: base64url(attestationObject),
        transports: ['internal', 'hybrid'],
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }

  /**
   * navigator.credentials.get(): an assertion by the newest credential (or `credentialId`),
   * its counter advanced by one unless `counter` says what to report.
   */
  async authenticate(
    options: PublicKeyCredentialRequestOptionsJSON,
    overrides: CeremonyOverrides & { credentialId?: string; counter?: number } = {},
  ): Promise<AuthenticationResponseJSON> {
    const credential = overrides.credentialId
      ? this.credentials.find((c) => c.id === overrides.credentialId)
      : this.credentials.at(-1);
    if (!credential) throw new Error('the soft authenticator holds no such credential');
    credential.counter = overrides.counter ?? credential.counter + 1;

    const rpId = overrides.rpId ?? options.rpId ?? credential.rpId;
    const authData = concat(
      await sha256(encoder.encode(rpId)),
      flagsOf(overrides, FLAG_UP | FLAG_BE | FLAG_BS),
      uint32(credential.counter),
    );
    const clientDataJSON = encoder.encode(
      JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: overrides.origin ?? this.origin, crossOrigin: false }),
    );
    const signed = concat(authData, await sha256(clientDataJSON));
    const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, credential.privateKey, signed as BufferSource));
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON: base64url(clientDataJSON),
        authenticatorData: base64url(authData),
        signature: base64url(rawEcdsaToDer(raw)),
        userHandle: credential.userHandle,
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }
}
