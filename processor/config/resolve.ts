/**
 * Merging the layers of raw property entries into one value per property: a later layer (higher
 * precedence) overrides an earlier one; an empty value is no value at all; two spellings of one
 * property with different values in the same layer are a problem.
 */
import type { PropertyName } from './catalogue.js';
import type { PropertyEntry, PropertyLayer, PropertySource } from './sources.js';

/** The winning value of one property. */
export interface ResolvedProperty extends PropertyEntry {
  readonly from: PropertySource;
}

/** Every property that has a value, with what reading the sources found wrong or odd. */
export interface ResolvedProperties {
  readonly values: ReadonlyMap<PropertyName, ResolvedProperty>;
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Merges layers given lowest precedence first. Empty values ('' after trimming — CloudFormation
 * parameters cannot be absent) are ignored, so they never override a lower layer.
 */
export function resolveProperties(layers: readonly PropertyLayer[]): ResolvedProperties {
  const values = new Map<PropertyName, ResolvedProperty>();
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const layer of layers) {
    problems.push(...layer.problems);
    warnings.push(...layer.warnings);
    const inLayer = new Map<PropertyName, PropertyEntry>();
    const conflicted = new Set<PropertyName>();
    for (const given of layer.entries) {
      if (given.value === '') continue;
      const earlier = inLayer.get(given.name);
      if (earlier !== undefined && earlier.value !== given.value) {
        if (!conflicted.has(given.name)) {
          const same = earlier.spelling === given.spelling ? 'given twice' : `${earlier.spelling} and ${given.spelling} are the same property`;
          problems.push(
            `${given.name}: ${same} with different values, "${earlier.value}" (from ${earlier.origin}) and "${given.value}" (from ${given.origin}); give one`,
          );
          conflicted.add(given.name);
        }
        continue;
      }
      inLayer.set(given.name, given);
    }
    for (const [name, given] of inLayer) values.set(name, { ...given, from: layer.source });
  }
  return { values, problems, warnings };
}
