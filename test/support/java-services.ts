/**
 * Whether the Java-based local services (Kafka, OpenSearch) can run here. A test file that needs
 * them passes `skip: await javaServicesSkipReason(...)` to `describe`: without Java or Maven the
 * tests are skipped with the reason printed, unless `ETL_REQUIRE_JAVA_SERVICES=1` (set by
 * `.ci/run`), where a missing tool fails the run instead of hiding it.
 */
import { MissingToolError } from '../../local/errors.js';
import { findJava, findMaven, findProgram, type JavaRequirement } from '../../local/java.js';

/** The reason to skip (a string), or false when the tools are there. Throws when they are required but missing. */
export function javaServicesSkipReason(requirement: JavaRequirement, needsUnzip = false): string | false {
  try {
    findJava(requirement);
    findMaven();
    if (needsUnzip) findProgram('unzip', 'Install it, e.g. "apt-get install unzip".');
    return false;
  } catch (error) {
    if (!(error instanceof MissingToolError)) throw error;
    if (process.env.ETL_REQUIRE_JAVA_SERVICES === '1') throw new Error(`ETL_REQUIRE_JAVA_SERVICES=1 but ${error.message}`, { cause: error });
    const reason = `skipped: ${error.message}`;
    process.stderr.write(`${reason}\n`);
    return reason;
  }
}
