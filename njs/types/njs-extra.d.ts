// What njs-types 0.7.12 does not declare but every runtime we support has.

interface NginxHTTPRequest {
  /** Sets the value of a js_set variable from an async handler (njs ≥ 0.7.0). */
  setReturnValue(value: NjsStringLike): void;
}

// QuickJS subtle.verify() throws on string data, so the types only admit bytes.
interface SubtleCrypto {
  verify(
    algorithm: any,
    key: CryptoKey,
    signature: Uint8Array | ArrayBuffer,
    data: Uint8Array | ArrayBuffer
  ): Promise<boolean>;
}
