/**
 * The small flag parser the three CLIs share: `--name value`, `--name=value`, boolean flags, and
 * alternative spellings (the original tools' single-dash flags). Unknown flags, missing values and
 * stray arguments are usage errors naming the flag.
 */
import { UsageError, describeError, ConfigError } from './errors.js';

/** One flag a CLI accepts. */
export interface FlagSpec {
  /** The canonical name, without dashes (`stream-name`). */
  readonly name: string;
  /** Whether it takes no value. */
  readonly boolean?: boolean;
  /** Other spellings, with their dashes (`-streamName`). */
  readonly aliases?: readonly string[];
  /** What it does, for `--help`. */
  readonly description: string;
  /** The value placeholder for `--help`. */
  readonly placeholder?: string;
  /** The default, for `--help` only. */
  readonly default?: string;
}

/** Parsed flags: canonical name to value (`'true'` for boolean flags present). */
export type ParsedFlags = Map<string, string>;

/** Parses `argv` (without node and the script) against `specs`. Throws UsageError. */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const lookup = new Map<string, FlagSpec>();
  for (const spec of specs) {
    lookup.set(`--${spec.name}`, spec);
    for (const alias of spec.aliases ?? []) lookup.set(alias, spec);
  }
  const flags: ParsedFlags = new Map();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = lookup.get(key);
    if (!spec) throw new UsageError(`unknown flag "${key}"`);
    if (spec.boolean) {
      const value = eq > 0 ? arg.slice(eq + 1) : 'true';
      if (!/^(true|false)$/i.test(value)) throw new UsageError(`flag ${key} takes no value or true/false, got "${value}"`);
      flags.set(spec.name, value.toLowerCase());
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i += 1;
    }
    if (value === undefined) throw new UsageError(`flag ${key} needs a value`);
    flags.set(spec.name, value);
  }
  return flags;
}

/** Renders the `--help` text. */
export function helpText(usage: string, summary: string, specs: readonly FlagSpec[], epilogue = ''): string {
  const rows = specs.map((spec) => {
    const names = [`--${spec.name}${spec.boolean ? '' : ` <${spec.placeholder ?? 'value'}>`}`, ...(spec.aliases ?? [])].join(', ');
    const dflt = spec.default !== undefined ? ` (default: ${spec.default})` : '';
    return `  ${names}\n      ${spec.description}${dflt}`;
  });
  return `${usage}\n\n${summary}\n\nOptions:\n${rows.join('\n')}\n${epilogue ? `\n${epilogue}\n` : ''}`;
}

/**
 * Runs a CLI's main function: prints usage errors and configuration errors plainly to stderr and
 * exits 2; any other error exits 1 with its cause chain.
 */
export function runCli(name: string, main: () => Promise<number | void>, options: { readonly helpCommand?: string } = {}): void {
  const helpCommand = options.helpCommand ?? `${name} --help`;
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${name}: ${error.message}\nRun "${helpCommand}" for the flags.\n`);
        process.exitCode = 2;
      } else if (error instanceof ConfigError) {
        process.stderr.write(`${name}: ${error.message}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`${name}: ${describeError(error)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
