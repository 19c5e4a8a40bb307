/**
 * Reads every runtime property once at start-up, validates them all, and returns the typed
 * ProcessorConfig. This is the one place the processor reads its configuration.
 *
 * Precedence, lowest first — a later source overrides an earlier one, property by property:
 *  1. `default`: the catalogue's default (`./catalogue.ts`);
 *  2. `properties-file`: the ApplicationProperties JSON file given by `--properties FILE`, in the
 *     managed-Flink format `[{"PropertyGroupId": "FlinkApplicationProperties", "PropertyMap": {...}}]`
 *     (other groups are ignored with a warning), a single group object, or a plain `{"Name": "value"}`
 *     object;
 *  3. `environment-json`: the same kind of document in the environment variable
 *     APPLICATION_PROPERTIES_JSON (how the CDK stack injects the SSM parameter into the Fargate task);
 *  4. `environment`: environment variables named exactly like the properties (`InputKinesisStream=trips`);
 *  5. `flag`: command-line flags, `--InputKinesisStream trips`, `--InputKinesisStream=trips`, or
 *     kebab-case `--input-kinesis-stream trips`.
 *
 * An empty (or blank) value means unset wherever it comes from — CloudFormation parameters cannot
 * be absent — so it never overrides a lower source. Values are trimmed. Aliases from the catalogue
 * (InputStreamInitialPosition for the original's InputStreamInitalPosition) work in every source;
 * two spellings of one property with different values in the same source are a problem. To write
 * at the root of the bucket, set OutputPrefix to `/` (an empty OutputPrefix means the default).
 *
 * Every problem — in any source, of any property, or between properties — is collected and thrown
 * as one ConfigError naming each property, the value received and its source. Unknown names in a
 * JSON document are warnings (a property group may carry other applications' keys); an unknown
 * flag is a UsageError.
 */
import { readFile as readFileFromDisk } from 'node:fs/promises';
import { buildConfig } from './build.js';
import { resolveProperties } from './resolve.js';
import { defaultsLayer, environmentJsonLayer, environmentLayer, parseApplicationProperties, parseProcessorArgs } from './sources.js';
import type { PropertyLayer } from './sources.js';
import type { ProcessorConfig } from './types.js';

/** What loadConfig reads: nothing global, so tests pass their own environment and files. */
export interface LoadConfigInput {
  /** The command-line arguments, without node and the script. */
  readonly argv: readonly string[];
  /** The environment (process.env in production). */
  readonly env: NodeJS.ProcessEnv;
  /** Reads the `--properties` file as UTF-8 text; defaults to the file system. */
  readonly readFile?: (path: string) => Promise<string>;
  /** The event schema's field names, when already known, to check the partition template's fields too. */
  readonly fieldNames?: readonly string[];
}

/** The outcome of loadConfig: the `--help` request, or the validated configuration with the start-up warnings. */
export type LoadConfigResult =
  | { readonly help: true }
  | { readonly help: false; readonly config: ProcessorConfig; readonly warnings: readonly string[] };

/**
 * Loads the configuration from all sources (see the precedence above). With `--help`, returns
 * `{ help: true }` without reading or validating anything else (print `processorHelp()`).
 * Throws UsageError for bad flags and ConfigError listing every invalid or missing property.
 */
export async function loadConfig(input: LoadConfigInput): Promise<LoadConfigResult> {
  const args = parseProcessorArgs(input.argv);
  if (args.help) return { help: true };
  const layers: PropertyLayer[] = [defaultsLayer()];
  if (args.propertiesFile !== undefined) layers.push(await readPropertiesFile(args.propertiesFile, input.readFile));
  layers.push(environmentJsonLayer(input.env), environmentLayer(input.env), args.layer);
  const built = buildConfig(resolveProperties(layers), { fieldNames: input.fieldNames, awsRegion: input.env.AWS_REGION });
  return { help: false, config: built.config, warnings: built.warnings };
}

async function readPropertiesFile(path: string, readFile?: (path: string) => Promise<string>): Promise<PropertyLayer> {
  const origin = `properties file ${path}`;
  let text: string;
  try {
    text = readFile ? await readFile(path) : await readFileFromDisk(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { source: 'properties-file', entries: [], problems: [`--properties ${path}: cannot read the file (${reason})`], warnings: [] };
  }
  return parseApplicationProperties(text, origin, 'properties-file');
}
