// Minimal typings for parquetjs-lite 0.8.7 (untyped), limited to what parquetjs-lite.ts uses.
declare module 'parquetjs-lite' {
  interface ParquetFieldDefinition {
    type: string;
    optional?: boolean;
    compression?: string;
  }
  interface WritableLike {
    write(chunk: Buffer, callback: (error?: unknown) => void): unknown;
    end(callback: (error?: unknown) => void): unknown;
  }
  export class ParquetSchema {
    constructor(fields: Record<string, ParquetFieldDefinition>);
  }
  export class ParquetWriter {
    static openStream(schema: ParquetSchema, stream: WritableLike, options?: { rowGroupSize?: number; pageSize?: number; useDataPageV2?: boolean }): Promise<ParquetWriter>;
    appendRow(row: Record<string, unknown>): Promise<void>;
    setMetadata(key: string, value: string): void;
    close(): Promise<void>;
  }
  const parquet: { ParquetSchema: typeof ParquetSchema; ParquetWriter: typeof ParquetWriter };
  export default parquet;
}
// parquetjs-lite's Thrift classes and helpers, used to add the TIMESTAMP logical type to the footer.
declare module 'parquetjs-lite/gen-nodejs/parquet_types.js' {
  interface ThriftStruct {
    [key: string]: unknown;
  }
  type ThriftClass = new (args?: Record<string, unknown>) => ThriftStruct;
  const types: {
    FileMetaData: ThriftClass;
    LogicalType: ThriftClass;
    TimestampType: ThriftClass;
    TimeUnit: ThriftClass;
    MilliSeconds: ThriftClass;
    ConvertedType: Record<string, number>;
  };
  export default types;
}
declare module 'parquetjs-lite/lib/util.js' {
  const util: {
    serializeThrift(value: unknown): Buffer;
    decodeThrift(value: unknown, buffer: Buffer, offset?: number): number;
  };
  export default util;
}
