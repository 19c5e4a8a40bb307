/**
 * The AWS region an Amazon MSK broker host names. Import-light on purpose: the processor's property
 * validation (which the CDK stack and `--help` load) uses it without loading the SDK or kafkajs.
 */

const MSK_HOST = /\.kafka(?:-serverless)?\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/i;

/** The region an MSK broker host names (`b-1.c.x.c2.kafka.eu-west-1.amazonaws.com` → `eu-west-1`), if it names one. */
export function regionOfMskHost(host: string): string | undefined {
  return MSK_HOST.exec(host)?.[1]?.toLowerCase();
}
