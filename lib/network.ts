import { Aws, CfnCondition, Fn, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Properties of {@link Network}. */
export interface NetworkProps {
  /**
   * NAT gateways: 1 or 2, or an unresolved token (a CloudFormation parameter whose value is '1' or
   * '2'), in which case the second gateway exists only when the value is '2'.
   * @default 1
   */
  readonly natGateways?: number | string;
  /**
   * Retention of the VPC flow log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * The VPC's IPv4 CIDR (a literal, so the endpoints' security group rule is a literal too).
   * @default '10.0.0.0/16'
   */
  readonly cidr?: string;
}

/**
 * The interface endpoints (private DNS on) the processor and the replay host reach AWS through; the
 * last three are Session Manager's, so the replay host needs no NAT to be reached.
 */
export const INTERFACE_ENDPOINTS = {
  Kinesis: ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  Monitoring: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  Sts: ec2.InterfaceVpcEndpointAwsService.STS,
  Ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
  SsmMessages: ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
  Ec2Messages: ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
} as const;

/**
 * The VPC: two AZs, public and private subnets, NAT gateway(s), gateway endpoints for S3 and
 * DynamoDB, interface endpoints (usable by this account's principals only) for the services the
 * processor and Session Manager call, and flow logs.
 */
export class Network extends Construct {
  /** The VPC. */
  readonly vpc: ec2.Vpc;
  /** The security group of the interface endpoints (HTTPS from the VPC CIDR). */
  readonly endpointSecurityGroup: ec2.SecurityGroup;
  /** The condition under which the second NAT gateway exists (only with a token `natGateways`). */
  readonly twoNatGateways?: CfnCondition;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    const nat = props.natGateways ?? 1;
    const natIsToken = Token.isUnresolved(nat);
    if (!natIsToken && nat !== 1 && nat !== 2 && nat !== '1' && nat !== '2') {
      throw new Error(`Network: natGateways must be 1 or 2, got ${JSON.stringify(nat)}`);
    }
    const cidr = props.cidr ?? '10.0.0.0/16';
    if (Token.isUnresolved(cidr) || !/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-2])$/.test(cidr)) {
      throw new Error(`Network: cidr must be a literal IPv4 CIDR from /16 to /22, got '${cidr}'`);
    }
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      maxAzs: 2,
      natGateways: natIsToken ? 2 : Number(nat),
      // No custom resource (it would be a Lambda asset, which the one-click template cannot carry);
      // the default security group is simply never used.
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });

    if (natIsToken) {
      // The VPC is built with one NAT gateway per AZ; the second (and its EIP) exists only under the
      // condition, and the second private subnet routes through it when it exists, else through the first.
      const cond = new CfnCondition(this, 'TwoNatGateways', { expression: Fn.conditionEquals(String(nat), '2') });
      cond.overrideLogicalId('TwoNatGateways');
      this.twoNatGateways = cond;
      const [pub1, pub2] = this.vpc.publicSubnets;
      const priv2 = this.vpc.privateSubnets[1];
      const nat1 = pub1?.node.findChild('NATGateway') as ec2.CfnNatGateway | undefined;
      const nat2 = pub2?.node.findChild('NATGateway') as ec2.CfnNatGateway | undefined;
      const eip2 = pub2?.node.findChild('EIP') as ec2.CfnEIP | undefined;
      const route2 = priv2?.node.findChild('DefaultRoute') as ec2.CfnRoute | undefined;
      if (!nat1 || !nat2 || !eip2 || !route2) throw new Error('Network: unexpected VPC layout (NAT gateways or routes not found)');
      nat2.cfnOptions.condition = cond;
      eip2.cfnOptions.condition = cond;
      route2.natGatewayId = Fn.conditionIf(cond.logicalId, nat2.ref, nat1.ref).toString();
    }

    const endpointSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface endpoints: HTTPS from inside the VPC only',
      allowAllOutbound: false,
    });
    this.endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
    for (const [name, service] of Object.entries(INTERFACE_ENDPOINTS)) {
      const endpoint = this.vpc.addInterfaceEndpoint(name, {
        service,
        privateDnsEnabled: true,
        subnets: endpointSubnets,
        securityGroups: [this.endpointSecurityGroup],
        open: false,
      });
      // Only this account's principals may use the endpoints (the roles' own policies say what for).
      endpoint.addToPolicy(
        new iam.PolicyStatement({
          sid: 'OnlyThisAccount',
          principals: [new iam.AnyPrincipal()],
          actions: ['*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID } },
        }),
      );
    }

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
  }
}
