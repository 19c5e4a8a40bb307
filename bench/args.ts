/** The benchmarks' one flag reader: `--name N`, a positive integer, or undefined when absent. */
export function numberFlag(name: string, argv: readonly string[] = process.argv): number | undefined {
  const at = argv.indexOf(name);
  if (at === -1) return undefined;
  const value = Number(argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive integer, got ${argv[at + 1]}`);
  return value;
}

/** `--name VALUE`, a directory or other text, or undefined when absent. */
export function stringFlag(name: string, argv: readonly string[] = process.argv): string | undefined {
  const at = argv.indexOf(name);
  if (at === -1) return undefined;
  const value = argv[at + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

/**
 * `--node-args "--max-semi-space-size=64 …"`: flags for the processor's node, split on spaces, or
 * undefined when absent. Its value starts with `--`, so it is not read with {@link stringFlag}.
 */
export function nodeArgsFlag(argv: readonly string[] = process.argv): string[] | undefined {
  const at = argv.indexOf('--node-args');
  if (at === -1) return undefined;
  const value = argv[at + 1];
  if (value === undefined) throw new Error('--node-args needs a value');
  return value.split(' ').filter((a) => a !== '');
}
