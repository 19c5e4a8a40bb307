import type { CfnCondition } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { KAFKA_PORTS, OPENSEARCH_HTTP_PORT } from './runtime-properties.js';

/** When the optional egress rules exist. */
export interface OptionalEgress {
  /** Kafka broker ports (9092-9098) exist only while this holds (a bootstrap-servers property is set). */
  readonly kafka?: CfnCondition;
  /** The OpenSearch node port (9200) exists only while this holds (OutputElasticsearchEndpoint is set). */
  readonly openSearch?: CfnCondition;
}

/**
 * A security group with no inbound rule and least outbound: HTTPS (443) to anywhere — the AWS APIs
 * through the VPC endpoints and the NAT — plus the Kafka and OpenSearch ports, each as its own
 * egress resource that exists only under its CloudFormation condition.
 */
export function leastEgressSecurityGroup(scope: Construct, id: string, vpc: ec2.IVpc, description: string, optional: OptionalEgress = {}): ec2.SecurityGroup {
  const group = new ec2.SecurityGroup(scope, id, { vpc, description, allowAllOutbound: false });
  group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS: AWS APIs (VPC endpoints, NAT) and package/source downloads');
  const conditional = (rid: string, when: CfnCondition, from: number, to: number, text: string) => {
    const rule = new ec2.CfnSecurityGroupEgress(group, rid, {
      groupId: group.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: from,
      toPort: to,
      cidrIp: '0.0.0.0/0',
      description: text,
    });
    rule.cfnOptions.condition = when;
  };
  if (optional.kafka) conditional('KafkaEgress', optional.kafka, KAFKA_PORTS.from, KAFKA_PORTS.to, 'Kafka brokers (only while Kafka is configured)');
  if (optional.openSearch) conditional('OpenSearchEgress', optional.openSearch, OPENSEARCH_HTTP_PORT, OPENSEARCH_HTTP_PORT, 'OpenSearch node (only while OutputElasticsearchEndpoint is set)');
  return group;
}
