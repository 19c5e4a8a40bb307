// Minimal typings for the untyped local-service packages, limited to what local/services.ts and local/s3-store.ts use.
declare module 'kinesalite' {
  import type { Server } from 'node:http';
  function kinesalite(options?: { createStreamMs?: number; deleteStreamMs?: number; updateStreamMs?: number; shardLimit?: number; path?: string }): Server;
  export default kinesalite;
}
declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string }[];
  }
  class S3rver {
    constructor(options?: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    httpServer?: Server;
    /** The object store (s3rver's Koa app and its request context each hold it). */
    store: object;
    context: { store: object };
    /** Koa's app-level error event: every error a request ended with (404s included), with its Koa context. */
    on(event: 'error', listener: (error: unknown, ctx?: { method?: string; path?: string; status?: number }) => void): this;
  }
  export default S3rver;
}
declare module 's3rver/lib/models/object.js' {
  import type { Readable } from 'node:stream';
  class S3Object {
    static ALLOWED_METADATA: readonly string[];
    readonly bucket: string;
    readonly key: string;
    readonly content: Buffer | Readable;
    readonly metadata: Record<string, string>;
  }
  export default S3Object;
}
declare module 's3rver/lib/stores/filesystem.js' {
  import type { Readable } from 'node:stream';
  import type S3Object from 's3rver/lib/models/object.js';
  class FilesystemStore {
    constructor(rootDirectory: string);
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    putObject(object: S3Object): Promise<{ size: number; md5: string }>;
    putPart(bucket: string, uploadId: string, partNumber: number | string, content: Readable): Promise<{ size: number; md5: string }>;
  }
  export default FilesystemStore;
}
